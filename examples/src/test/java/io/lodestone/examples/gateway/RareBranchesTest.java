package io.lodestone.examples.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The warm-up's rare branches: on every transport that loads, a connection on 127.0.0.1 whose
 * closed client channel refuses every write (each checked inside, with its buffer freed) and says
 * it is not writable; on io_uring, a channel whose writes, one after another, outnumber the
 * operation ids Netty counts before it wraps, and connections with a connect timeout opened and
 * closed one after another.
 */
class RareBranchesTest {

    @Test
    void everyTransportThatLoadsRefusesTheWritesToAClosedChannelAndFreesTheirBuffers() {
        List<Class<? extends Channel>> expected = new ArrayList<>();
        if (IoUring.isAvailable()) {
            expected.add(IoUringSocketChannel.class);
        }
        if (Epoll.isAvailable()) {
            expected.add(EpollSocketChannel.class);
        }
        expected.add(NioSocketChannel.class);

        assertThat(RareBranches.takeOnEveryTransport()).containsExactlyElementsOf(expected);
        // twice, as the warm-up does: nothing it started is left to get in the way
        assertThat(RareBranches.takeOnEveryTransport()).containsExactlyElementsOf(expected);
    }

    @Test
    void oneIoUringChannelSubmitsMoreOperationsThanItsOperationIdCountsBeforeItWraps() {
        // Netty's id is a short from Short.MIN_VALUE that skips 0: the skip comes after 32,768 operations
        assertThat(RareBranches.OPERATIONS).isGreaterThan(-(int) Short.MIN_VALUE);

        assertThat(RareBranches.wrapOperationIds()).isEqualTo(IoUring.isAvailable() ? RareBranches.OPERATIONS : 0);
    }

    @Test
    void everyIoUringConnectionWithATimeoutOpensAndCloses() {
        assertThat(RareBranches.connectWithTimeouts()).isEqualTo(IoUring.isAvailable() ? RareBranches.CONNECTS : 0);
    }
}
