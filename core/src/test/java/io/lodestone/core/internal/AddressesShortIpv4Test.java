package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Addresses#shortIpv4(String)}, the one reader of the IPv4 forms the JDK reads without a
 * lookup, which both the servers' address checks and the launcher's {@code host:port} flags use.
 */
class AddressesShortIpv4Test {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "1.2.3.4, 1.2.3.4",
            "255.255.255.255, 255.255.255.255",
            // a.b.c: the last number fills the last two bytes
            "10.0.0, 10.0.0.0",
            "1.2.65535, 1.2.255.255",
            // a.b: the last number fills the last three
            "127.1, 127.0.0.1",
            "10.65535, 10.0.255.255",
            "1.16777215, 1.255.255.255",
            // a: the one number is the whole address
            "0, 0.0.0.0",
            "4294967294, 255.255.255.254",
            "4294967295, 255.255.255.255",
            // decimal, leading zeros and all, as the JDK reads them (inet_aton would read octal)
            "010.1, 10.0.0.1",
            "127.0.0.01, 127.0.0.1",
            "007, 0.0.0.7",
            "0000000001, 0.0.0.1",
    })
    void readsTheFormsTheJdkReads(String host, String expected) throws Exception {
        InetAddress ip = Addresses.shortIpv4(host);
        assertThat(ip).isNotNull();
        assertThat(ip.getHostAddress()).isEqualTo(expected);
        // the address the JDK itself makes of the literal, without a lookup
        assertThat(InetAddress.getByName(host)).isEqualTo(ip);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "1.", "1.2.3.", "1.2.3.4.", ".1", "1..2", "1.2.3.4.5", "256.1", "1.2.3.256",
            "1.16777216", "1.2.65536", "4294967296", "99999999999", "00000000001", "0x7f.1", "1.2.3.a", "-1", "+1", "1 .2",
            "localhost", "::1"})
    void refusesEverythingElse(String host) {
        assertThat(Addresses.shortIpv4(host)).isNull();
    }
}
