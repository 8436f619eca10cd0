package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link FlushBatch}: nothing leaves before the event loop's turn ends, then every connection written
 * to in the turn is flushed, however many there are, and a connection added while the batch is
 * being flushed goes into the next one; a channel of another thread's event loop is flushed at once.
 * A channel added twice in a turn is flushed once, and the HTTP/2 streams of one connection flush
 * their connection once.
 */
class FlushBatchTest {

    private static List<EmbeddedChannel> written(int n) {
        List<EmbeddedChannel> channels = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            EmbeddedChannel ch = new EmbeddedChannel();
            ch.write("message " + i);
            channels.add(ch);
        }
        return channels;
    }

    @Test
    void flushesEveryChannelOnlyWhenTheTurnEnds() {
        List<EmbeddedChannel> channels = written(3);
        for (EmbeddedChannel ch : channels) {
            FlushBatch.flushLater(ch);
        }
        for (EmbeddedChannel ch : channels) {
            assertThat((Object) ch.readOutbound()).isNull();
        }

        channels.get(0).runPendingTasks();

        for (int i = 0; i < channels.size(); i++) {
            assertThat((String) channels.get(i).readOutbound()).isEqualTo("message " + i);
            assertThat(channels.get(i).finish()).isFalse();
        }
    }

    @Test
    void growsPastItsFirstCapacityAndSchedulesAgainNextTurn() {
        for (int turn = 0; turn < 2; turn++) {
            List<EmbeddedChannel> channels = written(150);
            for (EmbeddedChannel ch : channels) {
                FlushBatch.flushLater(ch);
            }
            channels.get(0).runPendingTasks();
            for (int i = 0; i < channels.size(); i++) {
                assertThat((String) channels.get(i).readOutbound()).as("turn %d channel %d", turn, i).isEqualTo("message " + i);
                channels.get(i).finishAndReleaseAll();
            }
        }
    }

    @Test
    void aChannelAddedWhileFlushingGoesIntoTheNextBatch() {
        EmbeddedChannel late = new EmbeddedChannel();
        late.write("late");
        EmbeddedChannel first = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                FlushBatch.flushLater(late);
                ctx.flush();
            }
        });
        first.write("first");
        List<EmbeddedChannel> others = written(70);
        FlushBatch.flushLater(first);
        for (EmbeddedChannel ch : others) {
            FlushBatch.flushLater(ch);
        }

        first.runPendingTasks();

        assertThat((String) first.readOutbound()).isEqualTo("first");
        assertThat((Object) late.readOutbound()).isNull();
        // the next batch's task was handed to the late channel's event loop (a real event loop runs
        // it in the same turn: its task queue is drained, including tasks added while it runs)
        late.runPendingTasks();
        assertThat((String) late.readOutbound()).isEqualTo("late");
        for (EmbeddedChannel ch : others) {
            assertThat((Object) ch.readOutbound()).isNotNull();
            ch.finishAndReleaseAll();
        }
        first.finishAndReleaseAll();
        late.finishAndReleaseAll();
    }

    /** Counts the flushes that reach it, first in a pipeline: those that reach the socket. */
    private static final class FlushCounter extends ChannelOutboundHandlerAdapter {
        int flushes;

        @Override
        public void flush(ChannelHandlerContext ctx) {
            flushes++;
            ctx.flush();
        }
    }

    @Test
    void aChannelAddedTwiceInATurnIsFlushedOnce() {
        FlushCounter counter = new FlushCounter();
        EmbeddedChannel ch = new EmbeddedChannel(counter);
        ch.write("once");
        FlushBatch.flushLater(ch);
        FlushBatch.flushLater(ch);

        ch.runPendingTasks();

        assertThat(counter.flushes).isEqualTo(1);
        assertThat((String) ch.readOutbound()).isEqualTo("once");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void theStreamsOfAnHttp2ConnectionFlushTheirConnectionOnce() throws Exception {
        FlushCounter counter = new FlushCounter();
        EmbeddedChannel connection = new EmbeddedChannel(counter, Http2FrameCodecBuilder.forClient().build(),
                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
        // the preface and SETTINGS the codec sent when the connection became active
        drain(connection);
        List<Http2StreamChannel> streams = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).open().sync().getNow();
            stream.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET").path("/" + i).scheme("https")
                    .authority("example.com"), true));
            streams.add(stream);
        }
        int before = counter.flushes;
        for (Http2StreamChannel stream : streams) {
            FlushBatch.flushLater(stream);
        }
        assertThat((Object) connection.readOutbound()).isNull();

        connection.runPendingTasks();

        // each stream's own flush ran the codec's flush (the flow controller's writing of every
        // stream's pending frames) and reached the socket: three of them for one turn's writes
        assertThat(counter.flushes - before).isEqualTo(1);
        assertThat(drain(connection)).as("the three HEADERS frames' bytes").isGreaterThanOrEqualTo(3 * 9);
        connection.finishAndReleaseAll();
    }

    /** Reads and releases what {@code ch} has written; the number of bytes. */
    private static int drain(EmbeddedChannel ch) {
        int bytes = 0;
        Object msg;
        while ((msg = ch.readOutbound()) != null) {
            if (msg instanceof ByteBuf b) {
                bytes += b.readableBytes();
            }
            ReferenceCountUtil.release(msg);
        }
        return bytes;
    }

    @Test
    void aChannelOfAnotherThreadsEventLoopIsFlushedAtOnce() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
        CompletableFuture<Object> received = new CompletableFuture<>();
        try {
            LocalAddress address = new LocalAddress("flush-batch-test");
            Channel server = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            received.complete(msg);
                        }
                    })
                    .bind(address).sync().channel();
            Channel client = new Bootstrap().group(group).channel(LocalChannel.class)
                    .handler(new ChannelInboundHandlerAdapter())
                    .connect(address).sync().channel();

            // this test thread is not the channel's event loop: no batch of this thread may hold it
            client.write("from another thread");
            FlushBatch.flushLater(client);

            assertThat(received.get(5, TimeUnit.SECONDS)).isEqualTo("from another thread");
            client.close().sync();
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
        }
    }
}
