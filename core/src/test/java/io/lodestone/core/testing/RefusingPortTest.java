package io.lodestone.core.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.junit.jupiter.api.Test;

class RefusingPortTest {

    @Test
    void refusesConnectionsAndCannotBeTakenByAListener() throws Exception {
        int port = RefusingPort.next();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (Socket client = new Socket()) {
            assertThatThrownBy(() -> client.connect(new InetSocketAddress(loopback, port), 1000))
                    .isInstanceOf(ConnectException.class);
        }
        assertThatThrownBy(() -> new ServerSocket(port, 1, loopback).close()).isInstanceOf(BindException.class);
    }

    @Test
    void addressIsTheLoopbackHostAndAHeldPort() throws Exception {
        String address = RefusingPort.address();
        int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        assertThat(address).startsWith(InetAddress.getLoopbackAddress().getHostAddress().contains(":") ? "[" : "127.");
        assertThatThrownBy(() -> new ServerSocket(port, 1, InetAddress.getLoopbackAddress()).close())
                .isInstanceOf(BindException.class);
    }

    @Test
    void givesADifferentPortEachTime() {
        assertThat(RefusingPort.next()).isNotEqualTo(RefusingPort.next());
    }
}
