package io.lodestone.core.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback listener that never answers a connection attempt, for a server whose connect must time
 * out: a server socket with a backlog of 1 that never accepts, whose accept queue is filled until the
 * kernel drops further SYNs (checked by a probe that times out). A connect to it hangs until the
 * connecting side gives up.
 */
public final class Blackhole implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> fillers = new ArrayList<>();

    public Blackhole() throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
        for (int i = 0; i < 16; i++) {
            Socket probe = new Socket();
            try {
                probe.connect(address, 250);
                fillers.add(probe);
            } catch (SocketTimeoutException full) {
                probe.close();
                return;
            }
        }
        close();
        throw new IllegalStateException("could not fill the accept queue of " + address);
    }

    /** The listener's address, {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        for (Socket s : fillers) {
            s.close();
        }
        server.close();
    }
}
