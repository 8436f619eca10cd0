package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.NetUtil;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link Addresses#toText}: IPv6 addresses in the RFC 5952 form, exactly as glibc's {@code inet_ntop}
 * writes them, and so as HAProxy, {@code ss} and {@code ip} show them.
 */
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
            // 5: an IPv4-mapped address ends in dotted decimal
            "0:0:0:0:0:ffff:102:304, ::ffff:1.2.3.4",
            "0:0:0:0:0:ffff:c000:2ff, ::ffff:192.0.2.255",
            "0:0:0:0:0:ffff:0:0, ::ffff:0.0.0.0",
            "0:0:0:0:0:ffff:0:1, ::ffff:0.0.0.1",
            "0:0:0:0:1:ffff:102:304, ::1:ffff:102:304",
            "0:0:0:0:ffff:0:0:0, ::ffff:0:0:0",
            "0:0:0:0:0:fffe:102:304, ::fffe:102:304",
            // so does an IPv4-compatible one (deprecated), as glibc's inet_ntop writes it: the first 96
            // bits zero and the seventh field not, so ::1 and ::2 stay hexadecimal
            "0:0:0:0:0:0:102:304, ::1.2.3.4",
            "0:0:0:0:0:0:1:203, ::0.1.2.3",
            "0:0:0:0:0:0:1:0, ::0.1.0.0",
            "0:0:0:0:0:0:ffff:0, ::255.255.0.0",
            "0:0:0:0:0:0:ffff:ffff, ::255.255.255.255",
            "0:0:0:0:0:0:0:102, ::102",
            "0:0:0:0:0:0:0:2, ::2",
            "0:0:0:0:0:0:0:ffff, ::ffff",
            "0:0:0:0:0:1:0:0, ::1:0:0",
            "1:0:0:0:0:0:102:304, 1::102:304",
            "64:ff9b:0:0:0:0:102:304, 64:ff9b::102:304",
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

    /**
     * Every address of {@code inet-ntop-glibc.csv} against the text glibc's {@code inet_ntop} gives it,
     * the text {@code ss}, {@code ip} and HAProxy show: every pattern of zero and non-zero fields and
     * random addresses, many with an IPv4-mapped or -compatible prefix. {@code inet-ntop-glibc.py}
     * beside it wrote the table (Python's {@code socket.inet_ntop} is the C library's).
     */
    @Test
    void agreesWithGlibcsInetNtop() throws Exception {
        int rows = 0;
        try (InputStream in = AddressesTextTest.class.getResourceAsStream("inet-ntop-glibc.csv")) {
            assertThat(in).isNotNull();
            BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("#")) {
                    continue;
                }
                int comma = line.indexOf(',');
                byte[] bytes = HexFormat.of().parseHex(line, 0, comma);
                String expected = line.substring(comma + 1);
                assertThat(Addresses.toText(Inet6Address.getByAddress(null, bytes, -1))).as(line).isEqualTo(expected);
                StringBuilder appended = new StringBuilder("x");
                Addresses.appendText(appended, Inet6Address.getByAddress(null, bytes, -1));
                assertThat(appended).as(line).hasToString("x" + expected);
                rows++;
            }
        }
        assertThat(rows).isGreaterThan(2000);
    }

    /**
     * Random addresses, many of their fields zero, against Netty's RFC 5952 writer, except an
     * IPv4-compatible address (the first 96 bits zero, the seventh field not), which Netty writes in
     * hexadecimal ({@code ::102:304}) and glibc dotted ({@code ::1.2.3.4}), as Lodestone does.
     */
    @Test
    void agreesWithNettyOnRandomAddresses() throws Exception {
        SplittableRandom random = new SplittableRandom(5952);
        int compatible = 0;
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
            if (random.nextInt(8) == 0) {
                Arrays.fill(bytes, 0, 12, (byte) 0);
            }
            Inet6Address address = Inet6Address.getByAddress(null, bytes, -1);
            if (isIpv4Compatible(bytes)) {
                compatible++;
                assertThat(Addresses.toText(address)).as(address.getHostAddress()).isEqualTo("::" + (bytes[12] & 0xff) + "."
                        + (bytes[13] & 0xff) + "." + (bytes[14] & 0xff) + "." + (bytes[15] & 0xff));
                continue;
            }
            assertThat(Addresses.toText(address)).as(address.getHostAddress())
                    .isEqualTo(NetUtil.toAddressString(address, true));
        }
        assertThat(compatible).isPositive();
    }

    private static boolean isIpv4Compatible(byte[] a) {
        for (int i = 0; i < 12; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[12] != 0 || a[13] != 0;
    }
}
