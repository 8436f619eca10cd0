package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link FlushBatch}: nothing leaves before the event loop's turn ends, then every connection written
 * to in the turn is flushed, however many there are, and a connection added while the batch is
 * being flushed goes into the next one; a channel of another thread's event loop is flushed at once.
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
