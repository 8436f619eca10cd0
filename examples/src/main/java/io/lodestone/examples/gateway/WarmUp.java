package io.lodestone.examples.gateway;

import io.lodestone.core.Proxy;
import io.lodestone.examples.UsageException;
import io.lodestone.examples.support.EmbeddedHttpServer;
import io.lodestone.examples.support.EmbeddedHttpServer.Reply;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The {@code --warm-up} run: before the gateway listens, a copy of it with the same options, bound to
 * an ephemeral port on 127.0.0.1 and with every server replaced by an origin inside the JVM, is sent a
 * mix of traffic, then closed. The configured servers never see a warm-up request.
 *
 * <p>Why: the JIT compiles a hot method with the branches and types it has seen so far. A branch it
 * has never seen (a client that closes an idle connection, a body large enough to stall a write, a
 * burst of new connections) later sends the compiled method back to the interpreter, and it is
 * compiled again. On a JVM confined to one CPU the compiler then runs on the event loop's CPU, and
 * the requests of the next few hundred milliseconds wait for it. The warm-up lets each kind of traffic
 * through several times in turn, while the methods are still being profiled, so that their first
 * optimised compilation already covers every kind.
 *
 * <p>The mix takes about the duration it is given: it ends once that has passed, after the round of
 * traffic it is in, whatever it has left (see {@link #run}). Only a warm-up of at least
 * {@link #IO_URING_STEPS_FROM} takes the two io_uring steps below, which have a fixed amount of work
 * that takes seconds of its own and is not counted in the duration.
 *
 * <p>The mix, run {@value #PASSES} times, each kind for an equal share of the duration: small requests
 * over 50 and over 256 keep-alive connections opened at once (between them, not timed, request heads
 * that arrive in two pieces: {@link #headsInPieces()}), 64 KiB responses, a new connection per
 * request ({@code Connection: close}), the same from 50 clients to an origin that answers with
 * {@code Connection: close}, so that each request opens a server connection and the proxy's connect
 * path is compiled before a burst of clients needs more server connections than its pool holds, 1 MiB
 * responses read by one thread from four connections, uploads with a {@code Content-Length} body and
 * with a chunked one, and clients that read 1 MiB responses through a small receive window, then close
 * their connection in the middle of one or right after sending a request. After each pass but the
 * last, {@link RareBranches} takes on every transport the branches of Netty's channel code that only a
 * client's reset racing its server's data reaches; before the first, it has one io_uring channel submit
 * enough operations for Netty's per-channel operation id to wrap, a branch that otherwise only a
 * long-lived server connection reaches, minutes into the load ({@link RareBranches#wrapOperationIds()}),
 * and opens and closes io_uring connections with a connect timeout, so that the profile of its
 * cancelling has connects in it, not only closes ({@link RareBranches#connectWithTimeouts()}). Half the clients send a browser's request head and
 * half a load generator's (only {@code Host}), which the origin answers with a web server's response
 * fields, the others with only the framing; the keep-alive clients leave as a load generator's do at
 * the end of a run, each with a request in flight, half with a reset at once and half with responses
 * unread. The client and the origin are plain sockets and Netty NIO, so that, but for the rare
 * branches' one connection per transport, the proxy's own code paths are the only ones that run on its
 * transport. Every response must be a 200 with the expected length; the run stops at the first failure
 * and reports it.
 */
final class WarmUp {

    /** What a warm-up did. */
    record Result(long requests, Duration took, String failure) {

        /** Whether every warm-up request got its 200 with the expected body length. */
        boolean ok() {
            return failure == null;
        }
    }

    static final int SMALL_BODY = 100;
    static final int MEDIUM_BODY = 64 * 1024;
    static final int LARGE_BODY = 1024 * 1024;
    /** How many times the mix is run; each kind of traffic gets an equal share of the time in each. */
    static final int PASSES = 3;
    /**
     * The shortest warm-up that begins with {@link RareBranches#wrapOperationIds()} and
     * {@link RareBranches#connectWithTimeouts()}: fixed amounts of work (40,000 writes one after
     * another, 2,000 connections) that take about 4 s on two shared cores, and far more on a loaded
     * machine, and guard against recompilations that only a load of a minute or more meets. A shorter
     * warm-up leaves them out so that it takes about the time asked for.
     */
    static final Duration IO_URING_STEPS_FROM = Duration.ofSeconds(10);
    private static final int KINDS = 8;
    private static final int SMALL_WINDOW = 4 * 1024;
    /** How many times each pass sends request heads in two pieces. */
    static final int PIECES = 100;
    /** The length of a head's first piece: part of its request line. */
    static final int PIECE = 10;
    /** The pause after a head's first piece. */
    private static final long PIECE_PAUSE_NANOS = 200_000;
    private static final String SMALL = "x".repeat(SMALL_BODY);
    private static final String MEDIUM = "m".repeat(MEDIUM_BODY);
    private static final String LARGE = "l".repeat(LARGE_BODY);
    private static final String DATE = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC));
    private static final byte[] UPLOAD = "u".repeat(MEDIUM_BODY).getBytes(StandardCharsets.US_ASCII);

    /** A warm-up connection with its buffered input. */
    private record Connection(Socket socket, InputStream in, OutputStream out) {
    }

    private final InetSocketAddress proxy;
    /** The {@code Host} of a load generator's requests: the proxy's address and port. */
    private final String hostField;
    private final byte[] readBuffer = new byte[64 * 1024];
    private long requests;

    WarmUp(InetSocketAddress proxy) {
        this.proxy = proxy;
        this.hostField = proxy.getAddress().getHostAddress() + ":" + proxy.getPort();
    }

    /**
     * Warms a gateway configured like {@code options} for about {@code duration} ({@value #PASSES}
     * passes of the mix), then closes everything it started.
     *
     * <p>The duration counts from when the copy of the gateway listens, and the mix ends when it has
     * passed: no kind of traffic, request heads in pieces or rare branches begin after it, and a kind
     * under way ends after the round it is in (one request on each of its connections, or one
     * connection each for its new-connection kinds). So a short duration runs fewer passes, or part
     * of one, rather than run over: on a slow or loaded machine, where the first rounds run
     * interpreted, {@code --warm-up 1s} gets through a part of the first pass. Not counted: the start
     * and close of the copy and its origin, and the io_uring steps that a warm-up of at least
     * {@link #IO_URING_STEPS_FROM} begins with. Should one of those fail, or run past its bound on
     * a loaded machine, the warm-up stops there and reports it, as it does a failed request.
     *
     * @throws UsageException as {@link Gateway#newProxy(GatewayOptions)}
     */
    static Result run(GatewayOptions options, Duration duration) throws UsageException {
        return run(options, duration, () -> {
            RareBranches.wrapOperationIds();
            RareBranches.connectWithTimeouts();
        });
    }

    /** As {@link #run(GatewayOptions, Duration)}, with {@code ioUringSteps} for the io_uring steps. */
    static Result run(GatewayOptions options, Duration duration, Runnable ioUringSteps) throws UsageException {
        long start = System.nanoTime();
        if (duration.compareTo(IO_URING_STEPS_FROM) >= 0) {
            // first, before the proxy's paths are compiled without these branches
            try {
                ioUringSteps.run();
            } catch (RuntimeException e) {
                return new Result(0, Duration.ofNanos(System.nanoTime() - start), e.toString());
            }
        }
        try (EmbeddedHttpServer origin = EmbeddedHttpServer.start("warm-up", "127.0.0.1", 0, WarmUp::answer)) {
            Proxy proxy = Gateway.newProxy(options.forWarmUp(new HostPort("127.0.0.1", origin.port())));
            try {
                proxy.start();
                WarmUp client = new WarmUp(proxy.localAddresses(Gateway.FRONTEND).get(0));
                String failure = client.drive(System.nanoTime(), duration.toNanos());
                return new Result(client.requests, Duration.ofNanos(System.nanoTime() - start), failure);
            } finally {
                proxy.close();
            }
        }
    }

    /**
     * The origin's answer: the path names the body's size; an upload that arrived whole gets the small
     * one. A request without {@code User-Agent} (a load generator's) is answered with the fields a web
     * server such as nginx sends ({@code Server}, {@code Date}, {@code Connection}, and for a file
     * {@code Last-Modified}, {@code ETag} and {@code Accept-Ranges}), the others with only the framing.
     */
    static Reply answer(EmbeddedHttpServer.Request request) {
        Reply reply = switch (request.uri()) {
            case "/medium" -> Reply.text(MEDIUM);
            case "/large" -> Reply.text(LARGE);
            case "/upload" -> request.body().length() == UPLOAD.length ? Reply.text(SMALL)
                    : Reply.text(400, "upload of " + request.body().length() + " bytes, expected " + UPLOAD.length + "\n");
            // a server that closes its connection after the response, as nginx does past its keepalive_requests
            case "/closing" -> Reply.text(SMALL).withHeader("Connection", "close");
            default -> Reply.text(SMALL);
        };
        // a browser's request, or a reply with fields of its own (the closing origin's), goes as it is
        if (request.header("User-Agent") != null || !reply.headers().isEmpty()) {
            return reply;
        }
        reply = reply.withHeader("Server", "lodestone-warm-up").withHeader("Date", DATE).withHeader("Connection", "keep-alive");
        return reply.body().length() < MEDIUM_BODY ? reply
                : reply.withHeader("Last-Modified", DATE).withHeader("ETag", "\"" + reply.body().length() + "\"")
                        .withHeader("Accept-Ranges", "bytes");
    }

    /**
     * Runs the passes of the mix, each kind of traffic until its share of {@code duration} has passed
     * since {@code start} (so a kind that runs over shortens the next), and nothing once all of
     * {@code duration} has; returns the first failure, or null.
     */
    private String drive(long start, long duration) {
        long end = start + duration;
        long slice = duration / (PASSES * KINDS);
        try {
            long at = start;
            for (int pass = 0; pass < PASSES && before(end); pass++) {
                keepAlive(50, "/small", SMALL_BODY, at += slice, end);
                headsInPieces(end);
                keepAlive(256, "/small", SMALL_BODY, at += slice, end);
                keepAlive(50, "/medium", MEDIUM_BODY, at += slice, end);
                onePerConnection(50, "/small", true, at += slice, end);
                onePerConnection(50, "/closing", false, at += slice, end);
                keepAlive(4, "/large", LARGE_BODY, at += slice, end);
                uploads(10, at += slice, end);
                aborts(20, at += slice, end);
                if (pass < PASSES - 1 && before(end)) {
                    RareBranches.takeOnEveryTransport();
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    /** Whether {@link System#nanoTime()} is still before {@code deadline}. */
    private static boolean before(long deadline) {
        return System.nanoTime() - deadline < 0;
    }

    /**
     * Until {@code until}: one GET on each of {@code connections} connections, then every response;
     * then the clients go away in the middle of their last requests, as a load generator's do at the
     * end of a run. Nothing once {@code end} has passed.
     */
    private void keepAlive(int connections, String path, int bodyLength, long until, long end) throws IOException {
        if (!before(end)) {
            return;
        }
        List<Connection> sockets = open(connections);
        try {
            byte[][] requests = {get(path, false, 0), get(path, false, 1)};
            for (int r = 0; r == 0 || before(until); r++) {
                for (int i = 0; i < connections; i++) {
                    sockets.get(i).out().write(requests[i & 1]);
                }
                for (Connection s : sockets) {
                    expect(s.in(), bodyLength, path);
                }
            }
            leaveMidRequest(sockets, requests, path, bodyLength);
        } finally {
            close(sockets);
        }
    }

    /**
     * {@value #PIECES} times, request heads that arrive in two pieces, as a slow client's or a large
     * head's do: one client's with nothing in between, so that the proxy scans the same head twice in
     * a row, then the same client's around another client's whole exchange, so that the proxy scans
     * other heads between its pieces. A load generator's heads arrive whole, except now and then in a
     * burst of new connections; without this, the first such head in the middle of the load sends
     * the compiled head scanner back to the interpreter. Each first piece is followed by a pause of
     * {@value #PIECE_PAUSE_NANOS} ns, in which the proxy, otherwise idle, reads it on its own; should
     * it read both pieces at once, the request is served all the same.
     */
    void headsInPieces() throws IOException {
        headsInPieces(System.nanoTime() + Long.MAX_VALUE);
    }

    /** As {@link #headsInPieces()}, but none once {@code end} has passed. */
    private void headsInPieces(long end) throws IOException {
        if (!before(end)) {
            return;
        }
        List<Connection> sockets = open(2);
        try {
            Connection a = sockets.get(0);
            Connection b = sockets.get(1);
            byte[] request = get("/small", false, 1);
            for (int i = 0; i < PIECES && before(end); i++) {
                a.out().write(request, 0, PIECE);
                LockSupport.parkNanos(PIECE_PAUSE_NANOS);
                a.out().write(request, PIECE, request.length - PIECE);
                expect(a.in(), SMALL_BODY, "/small (in two pieces)");
                a.out().write(request, 0, PIECE);
                LockSupport.parkNanos(PIECE_PAUSE_NANOS);
                b.out().write(request);
                expect(b.in(), SMALL_BODY, "/small");
                a.out().write(request, PIECE, request.length - PIECE);
                expect(a.in(), SMALL_BODY, "/small (in two pieces, around another request)");
            }
        } finally {
            close(sockets);
        }
    }

    /**
     * One more GET on each connection, then every client leaves without its response: every other one
     * at once with a reset, the rest once the last of them has its response, so that the responses
     * they have not read make their side answer with a reset too.
     */
    private void leaveMidRequest(List<Connection> sockets, byte[][] requests, String path, int bodyLength) throws IOException {
        int last = (sockets.size() - 1) | 1;
        for (int i = 0; i < sockets.size(); i++) {
            Connection s = sockets.get(i);
            s.out().write(requests[i & 1]);
            if ((i & 1) == 0) {
                s.socket().setSoLinger(true, 0);
                s.socket().close();
            }
        }
        if (last < sockets.size()) {
            expect(sockets.get(last).in(), bodyLength, path);
        }
    }

    /**
     * Until {@code until}: a GET of {@code path} on each of {@code connections} new connections, each
     * closed after its response. With {@code askClose} the request says {@code Connection: close} and
     * the proxy must close too; without it, {@code /closing} has the origin close instead, so that the
     * proxy opens a server connection for each request (in tcp mode the origin's close ends the
     * client's connection as well). Nothing once {@code end} has passed.
     */
    private void onePerConnection(int connections, String path, boolean askClose, long until, long end) throws IOException {
        if (!before(end)) {
            return;
        }
        byte[][] requests = {get(path, askClose, 0), get(path, askClose, 1)};
        String what = path + (askClose ? " (Connection: close)" : "");
        for (int r = 0; r == 0 || before(until); r++) {
            List<Connection> sockets = open(connections);
            try {
                for (int i = 0; i < connections; i++) {
                    sockets.get(i).out().write(requests[i & 1]);
                }
                for (Connection s : sockets) {
                    InputStream in = s.in();
                    expect(in, SMALL_BODY, what);
                    if (askClose && in.read() != -1) {
                        throw new IOException("the connection stayed open after Connection: close");
                    }
                }
            } finally {
                close(sockets);
            }
        }
    }

    /**
     * Until {@code until}: a 64 KiB POST on each connection, with Content-Length and then chunked.
     * Nothing once {@code end} has passed.
     */
    private void uploads(int connections, long until, long end) throws IOException {
        if (!before(end)) {
            return;
        }
        List<Connection> sockets = open(connections);
        try {
            byte[] head = ("POST /upload HTTP/1.1\r\nHost: warm-up\r\nContent-Length: " + UPLOAD.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] chunkedHead = ("POST /upload HTTP/1.1\r\nHost: warm-up\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(UPLOAD.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
            byte[] lastChunk = "\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            for (int r = 0; r == 0 || before(until); r++) {
                boolean chunked = (r & 1) == 1;
                for (Connection s : sockets) {
                    OutputStream out = s.out();
                    out.write(chunked ? chunkedHead : head);
                    out.write(UPLOAD);
                    if (chunked) {
                        out.write(lastChunk);
                    }
                }
                for (Connection s : sockets) {
                    expect(s.in(), SMALL_BODY, "/upload");
                }
            }
        } finally {
            close(sockets);
        }
    }

    /**
     * Until {@code until}, slow readers and clients that go away: on each of {@code connections}
     * connections with a small receive window, a 1 MiB GET read whole (its last bytes reach the client
     * after the server connection is back in the pool), then one abandoned after its first bytes, then
     * a GET closed as soon as it is sent. Nothing once {@code end} has passed.
     */
    private void aborts(int connections, long until, long end) throws IOException {
        if (!before(end)) {
            return;
        }
        do {
            abort(connections);
        } while (before(until));
    }

    private void abort(int connections) throws IOException {
        // a small receive window keeps the proxy writing the response when the client goes away
        List<Connection> sockets = open(connections, SMALL_WINDOW);
        try {
            byte[] large = get("/large", false);
            for (Connection s : sockets) {
                s.out().write(large);
            }
            for (Connection s : sockets) {
                expect(s.in(), LARGE_BODY, "/large (small receive window)");
                s.out().write(large);
            }
            for (Connection s : sockets) {
                if (s.in().read(readBuffer) < 0) {
                    throw new IOException("/large: the connection closed before a response");
                }
            }
        } finally {
            close(sockets);
        }
        sockets = open(connections);
        try {
            byte[] small = get("/small", false);
            for (Connection s : sockets) {
                s.out().write(small);
            }
        } finally {
            close(sockets);
        }
    }

    private List<Connection> open(int n) throws IOException {
        return open(n, 0);
    }

    /** Opens {@code n} connections to the proxy, with a receive buffer of {@code receiveBuffer} bytes unless 0. */
    private List<Connection> open(int n, int receiveBuffer) throws IOException {
        List<Connection> sockets = new ArrayList<>(n);
        try {
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                try {
                    s.setTcpNoDelay(true);
                    s.setSoTimeout(10_000);
                    if (receiveBuffer > 0) {
                        s.setReceiveBufferSize(receiveBuffer);
                    }
                    s.connect(proxy, 10_000);
                    sockets.add(new Connection(s, new BufferedInputStream(s.getInputStream(), 16 * 1024), s.getOutputStream()));
                } catch (IOException e) {
                    s.close();
                    throw e;
                }
            }
            return sockets;
        } catch (IOException e) {
            close(sockets);
            throw e;
        }
    }

    private static void close(List<Connection> sockets) {
        for (Connection s : sockets) {
            try {
                s.socket().close();
            } catch (IOException ignored) {
                // closing a warm-up connection: nothing to do about it
            }
        }
    }

    private byte[] get(String path, boolean close) {
        return get(path, close, 0);
    }

    /**
     * A GET of {@code path} in one of two shapes, by the parity of {@code client}: a browser's or
     * curl's, with {@code User-Agent} and {@code Accept}, or a load generator's, with only {@code Host}
     * (an address and port).
     */
    private byte[] get(String path, boolean close, int client) {
        String fields = (client & 1) == 0 ? "Host: warm-up\r\nUser-Agent: lodestone-warm-up\r\nAccept: */*\r\n"
                : "Host: " + hostField + "\r\n";
        return ("GET " + path + " HTTP/1.1\r\n" + fields + (close ? "Connection: close\r\n" : "") + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads one response: a 200 whose Content-Length is {@code bodyLength}, and its body. */
    private void expect(InputStream in, int bodyLength, String what) throws IOException {
        String head = readHead(in);
        if (!head.startsWith("HTTP/1.1 200 ")) {
            throw new IOException(what + ": " + head.lines().findFirst().orElse("(no status line)"));
        }
        long length = contentLength(head);
        if (length != bodyLength) {
            throw new IOException(what + ": Content-Length " + length + ", expected " + bodyLength);
        }
        long left = length;
        while (left > 0) {
            int n = in.read(readBuffer, 0, (int) Math.min(readBuffer.length, left));
            if (n < 0) {
                throw new IOException(what + ": the connection closed " + left + " bytes before the body's end");
            }
            left -= n;
        }
        requests++;
    }

    /** Reads one response head, up to and with its empty line; fails at end of stream. */
    static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder(256);
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the connection closed before a response head");
            }
            head.append((char) b);
            matched = b == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : b == '\r' ? 1 : 0;
        }
        return head.toString();
    }

    private static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equalsIgnoreCase("content-length")) {
                return Long.parseLong(line.substring(colon + 1).trim());
            }
        }
        return -1;
    }
}
