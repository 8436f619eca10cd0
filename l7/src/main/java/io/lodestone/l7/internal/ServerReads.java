package io.lodestone.l7.internal;

import io.lodestone.core.internal.PipelineNames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.UncheckedBooleanSupplier;

/**
 * The reads of an HTTP/1.1 server connection: the transport's own sizing, except that while the
 * response goes to an HTTP/2 stream that cannot send all it has queued (its window or the
 * connection's used up, or the connection's socket full) a read takes no more than that stream can
 * still queue before it turns unwritable ({@link HttpListener#STREAM_WATER_MARK}), and at least
 * {@value #MIN_READ} bytes. A stream whose client takes what comes reads as the transport sizes it:
 * reads kept to the stream's room throughout cut one fast HTTP/2 download on 127.0.0.1 to a third.
 *
 * <p>The proxy stops reading a server when its client's stream turns unwritable, but what one read
 * brought is written to the stream whole: the reads grow to 64 KiB on a fast server, so a stream
 * whose client does not read held its water mark plus up to 64 KiB of read buffers (Netty's default
 * mark, 64 KiB, and reads of 2, 32 and 64 KiB held 98 KiB per stream; 128 such streams on one
 * connection, 13 MiB of direct memory). Sized to the stream's room once it cannot send, a read
 * ends where the stream stops (3.0 to 3.4 MiB over the 128 streams, the reads made before they
 * stalled included). One per server connection,
 * event-loop confined as the connection is; an HTTP/1.1 client leaves the reads as they were.
 */
final class ServerReads implements RecvByteBufAllocator {

    /** The smallest read while the response goes to a stream near its mark, so as not to read it byte by byte. */
    static final int MIN_READ = 2048;
    /** Kept below the stream's room: what Netty counts per frame on a stream besides its data. */
    private static final int SLACK = 64;

    private final RecvByteBufAllocator reads;
    /** The HTTP/2 stream the current response goes to, or {@code null}. */
    private Channel stream;
    /** That stream's connection (the client's, from its frame codec) and id. */
    private Http2Connection connection;
    private int streamId;

    ServerReads(RecvByteBufAllocator reads) {
        this.reads = reads;
    }

    /** The client channel of the exchange the connection now carries: an HTTP/2 stream sizes the reads, anything else does not. */
    void sizeFor(Channel client) {
        if (client instanceof Http2StreamChannel s) {
            ChannelHandlerContext codec = s.parent().pipeline().context(PipelineNames.HTTP2_CODEC);
            if (codec != null) {
                stream = s;
                connection = ((Http2ConnectionHandler) codec.handler()).connection();
                streamId = s.stream().id();
                return;
            }
        }
        stream = null;
        connection = null;
    }

    @Override
    @SuppressWarnings("deprecation")
    public Handle newHandle() {
        return new Sized((ExtendedHandle) reads.newHandle());
    }

    @SuppressWarnings("deprecation")
    private final class Sized extends DelegatingHandle implements ExtendedHandle {

        Sized(ExtendedHandle handle) {
            super(handle);
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return alloc.ioBuffer(guess());
        }

        @Override
        public int guess() {
            int guess = delegate().guess();
            Channel s = stream;
            if (s == null) {
                return guess;
            }
            Http2Connection c = connection;
            Http2Stream h = c.stream(streamId);
            if (h != null && c.remote().flowController().isWritable(h)) {
                // what the stream has queued can all go out: its client takes what comes
                return guess;
            }
            // less the stream frame's own count (9 bytes a DATA frame) and some slack
            return (int) Math.min(guess, Math.max(MIN_READ, s.bytesBeforeUnwritable() - SLACK));
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return ((ExtendedHandle) delegate()).continueReading(maybeMoreDataSupplier);
        }
    }
}
