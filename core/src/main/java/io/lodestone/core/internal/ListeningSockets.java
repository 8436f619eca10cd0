package io.lodestone.core.internal;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * The listening sockets of one listener, each with the bind address it was bound for, and the
 * change of that set when a reconfiguration keeps the listener with other bind addresses: the
 * sockets of the addresses kept stay open (no connection refused there), the new addresses are bound
 * before the reconfiguration goes ahead, and the sockets of the addresses dropped close only once it
 * has. Changed by the proxy's lifecycle thread alone; read from any thread.
 */
public final class ListeningSockets {

    /** One listening socket and the bind address it was bound for (port 0 included). */
    private record Socket(InetSocketAddress configured, Channel channel) {
        /** Whether {@code address} is the one this socket was bound for, or the one it is bound to (the port the OS chose). */
        boolean serves(InetSocketAddress address) {
            return configured.equals(address) || address.equals(channel.localAddress());
        }
    }

    /** The sockets in the order of the frontend's bind addresses: what {@link #localAddresses()} reports. */
    private volatile List<Socket> sockets = List.of();
    /** Every listening channel open now, those a rebinding has bound and not committed yet included. */
    private final List<Channel> channels = new CopyOnWriteArrayList<>();

    /**
     * The listening channels open now, a live view safe to iterate from any thread: what a
     * {@link FrontendGate} pauses and resumes, and what the listener closes when it stops accepting.
     */
    public List<Channel> channels() {
        return channels;
    }

    /**
     * Binds each address in turn with {@code binder}; when one fails the exception is thrown and the
     * sockets bound so far stay in {@link #channels()}, for the listener to close.
     */
    public void bind(List<InetSocketAddress> addresses, Function<InetSocketAddress, Channel> binder) {
        List<Socket> bound = new ArrayList<>(addresses.size());
        for (InetSocketAddress address : addresses) {
            Channel ch = binder.apply(address);
            channels.add(ch);
            bound.add(new Socket(address, ch));
            sockets = List.copyOf(bound);
        }
    }

    /** The bound addresses, in the order of the bind addresses, with the ports the OS chose for port 0. */
    public List<InetSocketAddress> localAddresses() {
        List<Socket> now = sockets;
        List<InetSocketAddress> out = new ArrayList<>(now.size());
        for (Socket s : now) {
            out.add((InetSocketAddress) s.channel().localAddress());
        }
        return out;
    }

    /**
     * Whether these sockets can be kept, in part, for a frontend bound to {@code addresses}: one of
     * them was bound for an address listed there, or is bound to it. A port-0 address names no
     * socket in particular ("any port"), so it does not count here: a frontend of port-0 addresses
     * keeps its sockets only with the very same list.
     */
    public boolean overlaps(List<InetSocketAddress> addresses) {
        for (Socket s : sockets) {
            for (InetSocketAddress address : addresses) {
                if (address.getPort() != 0 && s.serves(address)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Prepares the change to {@code addresses}: keeps the socket of each address bound already (bound
     * for it, or bound to it, as a port the OS chose for port 0 listed now; each socket once, so a
     * port-0 address listed twice gets two sockets), binds the others with
     * {@code binder} (they accept at once). When one cannot be bound, closes those this call bound
     * and throws, leaving the sockets as they were.
     *
     * @return the change, to {@linkplain Listener.Rebinding#commit() commit} (the sockets of the
     *     addresses no longer listed close) or {@linkplain Listener.Rebinding#abort() abort} (the sockets
     *     just bound close)
     */
    public Listener.Rebinding rebind(List<InetSocketAddress> addresses, Function<InetSocketAddress, Channel> binder) {
        List<Socket> previous = sockets;
        List<Socket> unclaimed = new ArrayList<>(previous);
        List<Socket> next = new ArrayList<>(addresses.size());
        List<Channel> added = new ArrayList<>();
        try {
            for (InetSocketAddress address : addresses) {
                Socket kept = null;
                for (Socket s : unclaimed) {
                    if (s.configured().equals(address)) {
                        kept = s;
                        break;
                    }
                }
                if (kept == null) {
                    for (Socket s : unclaimed) {
                        if (s.serves(address)) {
                            kept = s;
                            break;
                        }
                    }
                }
                if (kept != null) {
                    unclaimed.remove(kept);
                    next.add(kept);
                } else {
                    Channel ch = binder.apply(address);
                    added.add(ch);
                    channels.add(ch);
                    next.add(new Socket(address, ch));
                }
            }
        } catch (RuntimeException e) {
            close(added);
            throw e;
        }
        List<Socket> ordered = List.copyOf(next);
        return new Listener.Rebinding() {
            @Override
            public void commit() {
                sockets = ordered;
                List<Channel> dropped = new ArrayList<>(unclaimed.size());
                for (Socket s : unclaimed) {
                    dropped.add(s.channel());
                }
                close(dropped);
            }

            @Override
            public void abort() {
                close(added);
            }
        };
    }

    /** Closes listening channels and forgets them; waits for each to close. */
    private void close(List<Channel> closing) {
        channels.removeAll(closing);
        for (Channel ch : closing) {
            ch.close().syncUninterruptibly();
        }
    }
}
