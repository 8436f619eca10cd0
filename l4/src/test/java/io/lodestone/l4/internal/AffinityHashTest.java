package io.lodestone.l4.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The source-hash key of a client connection: its IP address, well mixed. */
class AffinityHashTest {

    @Test
    void theSameAddressAlwaysHashesTheSame() throws UnknownHostException {
        assertThat(TcpConnection.hashAddress(InetAddress.getByName("10.1.2.3")))
                .isEqualTo(TcpConnection.hashAddress(InetAddress.getByName("10.1.2.3")));
        assertThat(TcpConnection.hashAddress(InetAddress.getByName("2001:db8::1")))
                .isEqualTo(TcpConnection.hashAddress(InetAddress.getByName("2001:db8::1")));
    }

    @Test
    void neighbouringAddressesSpreadEvenlyOverBuckets() throws UnknownHostException {
        int buckets = 4;
        int[] v4 = new int[buckets];
        int[] v6 = new int[buckets];
        for (int i = 0; i < 4096; i++) {
            InetAddress a = InetAddress.getByAddress(new byte[] {10, 0, (byte) (i >> 8), (byte) i});
            v4[(int) Long.remainderUnsigned(TcpConnection.hashAddress(a), buckets)]++;
            byte[] b6 = new byte[16];
            b6[0] = 0x20;
            b6[1] = 0x01;
            b6[14] = (byte) (i >> 8);
            b6[15] = (byte) i;
            v6[(int) Long.remainderUnsigned(TcpConnection.hashAddress(InetAddress.getByAddress(b6)), buckets)]++;
        }
        for (int k = 0; k < buckets; k++) {
            assertThat(v4[k]).isBetween(900, 1150);
            assertThat(v6[k]).isBetween(900, 1150);
        }
    }

    @Test
    void distinctAddressesRarelyCollide() throws UnknownHostException {
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            seen.add(TcpConnection.hashAddress(InetAddress.getByAddress(new byte[] {(byte) 192, (byte) 168, (byte) (i >> 8), (byte) i})));
        }
        assertThat(seen).hasSize(10_000);
    }
}
