package io.lodestone.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The kernel's accept queue of a listening socket, for a test that must know a connection was taken
 * from it (accepted by the proxy, served or held) rather than still waiting there. Linux only: it
 * reads the receive-queue column of the socket's LISTEN line in /proc/net/tcp and /proc/net/tcp6,
 * which for a listening socket counts the connections not accepted yet.
 */
public final class AcceptQueue {

    private AcceptQueue() {
    }

    /** The connections waiting to be accepted on the listening socket of {@code port}, on any address. */
    public static int length(int port) {
        String local = String.format(Locale.ROOT, ":%04X", port);
        int waiting = -1;
        for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(file))) {
                    String[] f = line.trim().split(" +");
                    // sl local_address rem_address st tx_queue:rx_queue ...; st 0A is LISTEN
                    if (f.length > 4 && f[1].endsWith(local) && f[3].equals("0A")) {
                        waiting = Math.max(waiting, 0) + Integer.parseInt(f[4].substring(f[4].indexOf(':') + 1), 16);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        if (waiting < 0) {
            throw new IllegalStateException("no listening socket on port " + port);
        }
        return waiting;
    }
}
