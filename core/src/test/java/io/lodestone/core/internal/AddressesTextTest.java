package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.NetUtil;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link Addresses#toText}: IPv6 addresses in the RFC 5952 form, as HAProxy writes them. */
class AddressesTextTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            // 4.1: no leading zeros; 4.3: lowercase
            "2001:0DB8:AAAA:BBBB:CCCC:DDDD:EEEE:000F, 2001:db8:aaaa:bbbb:cccc:dddd:eeee:f",
            "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
            "0100:0010:0001:1000:0000:abcd:0000:0000, 100:10:1:1000:0:abcd::",
            // 4.2.1: the longest run is shortened as far as it goes
            "2001:db8:0:0:0:0:2:1, 2001:db8::2:1",
            // 4.2.2: one zero field is not shortened
            "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
            // 4.2.3: the longest run wins, and the first of equally long ones
            "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
            "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
            // runs at either end, the whole address
            "0:0:0:0:0:0:0:1, ::1",
            "0:0:0:0:0:0:0:0, ::",
            "1:0:0:0:0:0:0:0, 1::",
            "0:0:1:0:0:0:0:0, 0:0:1::",
            "fe80:0:0:0:0:0:0:1, fe80::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            // 5: an IPv4-mapped address ends in dotted decimal; an IPv4-compatible one (deprecated) does not
            "0:0:0:0:0:ffff:102:304, ::ffff:1.2.3.4",
            "0:0:0:0:0:ffff:c000:2ff, ::ffff:192.0.2.255",
            "0:0:0:0:0:ffff:0:0, ::ffff:0.0.0.0",
            "0:0:0:0:0:0:102:304, ::102:304",
            "0:0:0:0:1:ffff:102:304, ::1:ffff:102:304",
    })
    void writesTheRfc5952Form(String full, String expected) throws Exception {
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(full);
        assertThat(bytes).hasSize(16);
        assertThat(Addresses.ipv6Text(bytes)).isEqualTo(expected);
        // the JDK keeps an IPv4-mapped address given this way as an Inet6Address
        assertThat(Addresses.toText(Inet6Address.getByAddress(null, bytes, -1))).isEqualTo(expected);
    }

    @Test
    void writesNoZoneIndex() throws Exception {
        Inet6Address linkLocal = Inet6Address.getByAddress(null, NetUtil.createByteArrayFromIpAddressString("fe80::1"), 3);
        assertThat(linkLocal.getHostAddress()).isEqualTo("fe80:0:0:0:0:0:0:1%3");
        assertThat(Addresses.toText(linkLocal)).isEqualTo("fe80::1");
    }

    /**
     * The key of a per-source limit: the text, then {@code %} and the scope id for a zoned IPv6
     * address, so fe80::1 on two links gives two keys. Unit level: the tests have only 127.0.0.1 and
     * ::1, and neither has a zone.
     */
    @Test
    void aKeyHasTheZoneAsItsScopeId() throws Exception {
        byte[] linkLocal = NetUtil.createByteArrayFromIpAddressString("fe80::1");
        assertThat(Addresses.keyText(Inet6Address.getByAddress(null, linkLocal, 2))).isEqualTo("fe80::1%2");
        assertThat(Addresses.keyText(Inet6Address.getByAddress(null, linkLocal, 3))).isEqualTo("fe80::1%3");
        assertThat(Addresses.keyText(Inet6Address.getByAddress(null, linkLocal, Integer.MAX_VALUE))).isEqualTo("fe80::1%2147483647");
        byte[] longest = NetUtil.createByteArrayFromIpAddressString("fe80:1111:2222:3333:4444:5555:6666:7777");
        assertThat(Addresses.keyText(Inet6Address.getByAddress(null, longest, 1_000_000_000)))
                .isEqualTo("fe80:1111:2222:3333:4444:5555:6666:7777%1000000000");
        assertThat(Addresses.keyText(Inet6Address.getByAddress(null, linkLocal, 0))).isEqualTo("fe80::1");
        assertThat(Addresses.keyText(InetAddress.getByAddress(linkLocal))).isEqualTo("fe80::1");
        assertThat(Addresses.keyText(InetAddress.getByName("192.0.2.1"))).isEqualTo("192.0.2.1");
    }

    @Test
    void writesIpv4InDottedDecimal() throws Exception {
        assertThat(Addresses.toText(InetAddress.getByName("192.0.2.1"))).isEqualTo("192.0.2.1");
        assertThat(Addresses.toText(InetAddress.getByName("127.0.0.1"))).isEqualTo("127.0.0.1");
        // the JDK takes an IPv4-mapped literal for the IPv4 address itself
        assertThat(Addresses.toText(InetAddress.getByName("::ffff:10.0.0.1"))).isEqualTo("10.0.0.1");
    }

    /** Random addresses, many of their fields zero, against Netty's RFC 5952 writer. */
    @Test
    void agreesWithNettyOnRandomAddresses() throws Exception {
        SplittableRandom random = new SplittableRandom(5952);
        for (int n = 0; n < 20_000; n++) {
            byte[] bytes = new byte[16];
            for (int i = 0; i < 8; i++) {
                int field = switch (random.nextInt(4)) {
                    case 0, 1 -> 0;
                    case 2 -> random.nextInt(16) << random.nextInt(4) * 4;
                    default -> random.nextInt(0x10000);
                };
                if (i == 5 && random.nextInt(8) == 0) {
                    field = 0xffff;
                }
                bytes[2 * i] = (byte) (field >>> 8);
                bytes[2 * i + 1] = (byte) field;
            }
            Inet6Address address = Inet6Address.getByAddress(null, bytes, -1);
            assertThat(Addresses.toText(address)).as(address.getHostAddress())
                    .isEqualTo(NetUtil.toAddressString(address, true));
        }
    }
}
