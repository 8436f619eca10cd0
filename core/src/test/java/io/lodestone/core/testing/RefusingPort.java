package io.lodestone.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * Ports on the loopback address that refuse every connection for the rest of the test JVM, for a
 * server that must be down.
 *
 * <p>Each port is held by a socket that is bound but never listens: a connection to it is refused,
 * and the system gives the port to no other socket meanwhile. Taking a free port and closing it
 * instead leaves the number free to be handed out again, for instance to the listener of the proxy
 * under test, which then connects to itself without end.
 */
public final class RefusingPort {

    /** The held sockets, kept open on purpose until the JVM exits. */
    private static final List<Socket> HELD = new ArrayList<>();

    private RefusingPort() {
    }

    /** A new port on the loopback address that refuses connections. */
    public static int next() {
        return hold().getLocalPort();
    }

    /** {@code host:port} of a new refusing port, as a server's address is written. */
    public static String address() {
        Socket socket = hold();
        InetAddress host = socket.getLocalAddress();
        String literal = host.getHostAddress();
        return (host instanceof Inet6Address ? "[" + literal + "]" : literal) + ":" + socket.getLocalPort();
    }

    private static synchronized Socket hold() {
        try {
            Socket socket = new Socket();
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            HELD.add(socket);
            return socket;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
