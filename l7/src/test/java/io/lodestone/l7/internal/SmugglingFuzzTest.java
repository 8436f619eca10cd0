package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.l7.HttpFrontend;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A seeded, bounded differential fuzz test of the proxy's framing, end to end: raw bytes from a
 * socket through a real proxy on 127.0.0.1 to a backend that reads what it receives with
 * {@link StrictReference}, an independent strict parser. Valid requests (GET and POST, bodies by
 * Content-Length and chunked, pipelined, HTTP/1.0 and 1.1) get framing mutations (duplicate and
 * conflicting lengths, Transfer-Encoding variants, chunk size and extension oddities, bare CR and LF,
 * control characters, whitespace before a colon, obs-fold, absolute-form targets, Host variants,
 * over-long lines, bodies shorter or longer than declared, requests smuggled in bodies).
 *
 * <p>The invariant for every case, not an expected string: the backend received a prefix of the
 * requests the reference reads in the client's bytes, each the same (method, target, body) and
 * framed unambiguously (the backend's own strict reading of the proxy's bytes succeeds), and the
 * client got one response per forwarded request, in order; after the last forwarded one, where the
 * reference refuses a request the proxy answers one 4xx/501/505 and closes, and nothing of a head the
 * reference refuses reaches the backend. A request the reference accepts and the proxy refuses is
 * printed as stricter, not failed. After every case the proxy must still serve a new connection.
 * The response direction is fuzzed the same way with a scripted server answer.
 *
 * <p>Cases come from a fixed seed ({@value #DEFAULT_SEED}, or {@code -Dlodestone.fuzz.seed=N}); each
 * case draws from its own generator, seeded by the seed and its index, so one case replays alone with
 * {@code -Dlodestone.fuzz.case=I} (and {@code -Dlodestone.fuzz.response-case=I}). A failure names the
 * seed, the case, its mutations and its bytes.
 */
class SmugglingFuzzTest {

    private static final Logger log = LoggerFactory.getLogger(SmugglingFuzzTest.class);

    static final long DEFAULT_SEED = 20261205L;
    private static final int REQUEST_CASES = 1500;
    private static final int RESPONSE_CASES = 400;
    /** Caps on wall-clock time per run; a slow machine runs fewer cases and says how many. */
    private static final long REQUEST_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long RESPONSE_BUDGET_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int MAX_REPORTED = 15;
    private static final String HOST = "Host: example.com";
    private static final StrictReference.Limits LIMITS = new StrictReference.Limits(
            DecoderSide.MAX_LINE, DecoderSide.MAX_HEADER, DecoderSide.MAX_COUNT, DecoderSide.MAX_BODY);
    /** The statuses a refusal may have. */
    private static final List<Integer> REFUSALS = List.of(400, 411, 413, 414, 431, 501, 505);

    private static final long SEED = Long.getLong("lodestone.fuzz.seed", DEFAULT_SEED);
    private static FuzzBackend backend;
    private static Proxy proxy;

    @BeforeAll
    static void start() {
        backend = new FuzzBackend();
        proxy = Proxy.builder()
                .backend(Backend.named("b").server("s1", backend.address()))
                .frontend(HttpFrontend.bind("127.0.0.1:0").defaultBackend("b")
                        .maxInitialLineLength(DecoderSide.MAX_LINE)
                        .maxHeaderSize(DecoderSide.MAX_HEADER)
                        .maxHeaderCount(DecoderSide.MAX_COUNT)
                        .maxBodySize(DecoderSide.MAX_BODY))
                .build();
        proxy.start();
    }

    @AfterAll
    static void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void requestsAreForwardedAsAStrictParserReadsThemOrRefused() throws IOException {
        List<String> failures = new ArrayList<>();
        Map<String, Integer> stricter = new TreeMap<>();
        Map<String, Integer> outcomes = new TreeMap<>();
        int[] range = range("lodestone.fuzz.case", REQUEST_CASES);
        long start = System.nanoTime();
        int run = 0;
        for (int c = range[0]; c < range[1] && System.nanoTime() - start < REQUEST_BUDGET_NANOS; c++, run++) {
            Case k = RequestCases.generate(SEED, c);
            String failure = runRequestCase(k, stricter, outcomes);
            if (failure != null && failures.size() < MAX_REPORTED) {
                failures.add("seed " + SEED + " case " + c + " " + k.mutations + ": " + failure
                        + "\n    client sent: " + escape(k.bytes));
            }
        }
        failures.addAll(backend.lateFailures());
        log.info("request fuzz ({}): seed {}, {} cases in {} ms, outcomes {}; stricter than the reference: {}",
                System.getProperty("lodestone.transport", "io_uring"), SEED, run,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), outcomes, stricter);
        assertThat(run).as("cases run").isGreaterThanOrEqualTo(Math.min(range[1] - range[0], 200));
        assertThat(failures).as("replay one with -Dlodestone.fuzz.seed=S -Dlodestone.fuzz.case=I").isEmpty();
    }

    @Test
    void responsesAreRelayedAsAStrictParserReadsThemOr502() throws IOException {
        List<String> failures = new ArrayList<>();
        Map<String, Integer> stricter = new TreeMap<>();
        Map<String, Integer> outcomes = new TreeMap<>();
        int[] range = range("lodestone.fuzz.response-case", RESPONSE_CASES);
        long start = System.nanoTime();
        int run = 0;
        for (int c = range[0]; c < range[1] && System.nanoTime() - start < RESPONSE_BUDGET_NANOS; c++, run++) {
            Case k = ResponseCases.generate(SEED, c);
            String failure = runResponseCase(c, k, stricter, outcomes);
            if (failure != null && failures.size() < MAX_REPORTED) {
                failures.add("seed " + SEED + " response case " + c + " " + k.mutations + ": " + failure
                        + "\n    server sent: " + escape(k.bytes));
            }
        }
        backend.script = null;
        failures.addAll(backend.lateFailures());
        log.info("response fuzz ({}): seed {}, {} cases in {} ms, outcomes {}; stricter than the reference: {}",
                System.getProperty("lodestone.transport", "io_uring"), SEED, run,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), outcomes, stricter);
        assertThat(run).as("cases run").isGreaterThanOrEqualTo(Math.min(range[1] - range[0], 100));
        assertThat(failures).as("replay one with -Dlodestone.fuzz.seed=S -Dlodestone.fuzz.response-case=I").isEmpty();
    }

    private static int[] range(String property, int cases) {
        Integer only = Integer.getInteger(property);
        return only == null ? new int[] {0, cases} : new int[] {only, only + 1};
    }

    /** One generated case: its bytes and the names of the mutations that made them. */
    record Case(int index, byte[] bytes, List<String> mutations, boolean closeAfter) {
    }

    // ---------------------------------------------------------------- request direction

    private static String runRequestCase(Case k, Map<String, Integer> stricter, Map<String, Integer> outcomes) throws IOException {
        String tag = "/f" + k.index + "/";
        StrictReference.Result ref = StrictReference.requests(k.bytes, LIMITS, true);
        backend.expectHeadRefusal(k.index, ref.end() == StrictReference.End.REJECTED && !ref.inBody());
        byte[] answer = exchange(proxy.port(), k.bytes);
        if (answer == null) {
            return "the proxy did not close the connection within 5 s; reference: " + ref;
        }
        String failure = checkRequestCase(k, tag, ref, answer, stricter, outcomes);
        String serving = stillServing(k.index);
        return failure != null ? failure : serving;
    }

    private static String checkRequestCase(Case k, String tag, StrictReference.Result ref, byte[] answer,
            Map<String, Integer> stricter, Map<String, Integer> outcomes) {
        List<StrictReference.Message> expected = ref.messages();
        List<FuzzBackend.Forwarded> forwarded = backend.take(tag);
        String violation = backend.violations.poll();
        if (violation != null) {
            return "the backend's strict reading of what the proxy sent failed: " + violation + "; reference: " + ref;
        }
        if (forwarded.size() > expected.size()) {
            return "forwarded " + forwarded + " where the reference reads " + ref;
        }
        for (int i = 0; i < forwarded.size(); i++) {
            FuzzBackend.Forwarded f = forwarded.get(i);
            StrictReference.Message m = expected.get(i);
            if (!f.tag().equals(FuzzBackend.tag(m.method(), m.target(), m.body()))) {
                return "request " + i + " forwarded as " + f + " where the reference reads " + m;
            }
        }
        String partial = backend.partialWith(tag);
        if (partial != null && ref.end() == StrictReference.End.REJECTED && !ref.inBody() && forwarded.size() == expected.size()) {
            return "bytes of a head the reference refuses reached the backend: " + escape(partial) + "; reference: " + ref;
        }
        StrictReference.Result responses = StrictReference.responses(answer);
        if (responses.end() != StrictReference.End.COMPLETE) {
            return "the client got bytes that are not whole responses: " + escape(answer);
        }
        List<StrictReference.Message> got = new ArrayList<>();
        for (StrictReference.Message m : responses.messages()) {
            if (m.status() >= 200) {
                got.add(m);
            }
        }
        if (got.size() < forwarded.size() || got.size() > forwarded.size() + 1) {
            return got.size() + " responses for " + forwarded.size() + " forwarded requests: " + escape(answer);
        }
        for (int i = 0; i < forwarded.size(); i++) {
            String body = new String(got.get(i).body(), StandardCharsets.ISO_8859_1);
            if (got.get(i).status() != 200 || !body.equals(forwarded.get(i).tag())) {
                return "response " + i + " is " + got.get(i) + ", not the answer to " + forwarded.get(i) + ": " + escape(answer);
            }
        }
        Integer refusal = got.size() > forwarded.size() ? got.get(forwarded.size()).status() : null;
        if (refusal != null && !REFUSALS.contains(refusal)) {
            return "refused with " + refusal + ": " + escape(answer);
        }
        boolean allForwarded = forwarded.size() == expected.size();
        String outcome;
        if (allForwarded && ref.end() == StrictReference.End.REJECTED) {
            if (refusal == null) {
                return "the reference refuses request " + expected.size() + " (" + ref.reason() + "); the proxy closed without an answer";
            }
            outcome = "refused as the reference";
        } else if (allForwarded && ref.end() == StrictReference.End.COMPLETE) {
            if (refusal != null) {
                return "a " + refusal + " after every request the reference reads was answered: " + escape(answer);
            }
            outcome = "forwarded as the reference";
        } else if (allForwarded) {
            outcome = "incomplete, " + (refusal == null ? "closed" : String.valueOf(refusal));
        } else {
            outcome = "stricter";
            stricter.merge(k.mutations + " -> " + (refusal == null ? "closed" : refusal), 1, Integer::sum);
        }
        outcomes.merge(outcome, 1, Integer::sum);
        return null;
    }

    private static String stillServing(int index) throws IOException {
        String target = "/probe/" + index;
        byte[] answer = exchange(proxy.port(), ("GET " + target + " HTTP/1.1\r\n" + HOST + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        StrictReference.Result r = answer == null ? null : StrictReference.responses(answer);
        String expected = FuzzBackend.tag("GET", target, new byte[0]);
        if (r == null || r.messages().size() != 1 || r.messages().get(0).status() != 200
                || !new String(r.messages().get(0).body(), StandardCharsets.ISO_8859_1).equals(expected)) {
            return "the proxy does not serve a new connection after the case: " + (answer == null ? "no close" : escape(answer));
        }
        backend.take("/probe/");
        return null;
    }

    /** Valid requests, then framing mutations. */
    static final class RequestCases {

        static Case generate(long seed, int index) {
            Random rnd = new Random(seed * 0x9E3779B97F4A7C15L + index);
            int n = 1 + (rnd.nextInt(10) < 5 ? 0 : rnd.nextInt(10) < 7 ? 1 : 2);
            List<Req> reqs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                reqs.add(Req.valid(rnd, "/f" + index + "/" + i));
            }
            List<String> names = new ArrayList<>();
            int mutations = rnd.nextInt(10) == 0 ? 0 : rnd.nextInt(4) == 0 ? 2 : 1;
            // the mutated request has a body more often than not: most framing mutations need one
            int t = rnd.nextInt(n);
            int weight = rnd.nextInt(20);
            reqs.set(t, Req.valid(rnd, "/f" + index + "/" + t, weight < 3 ? Req.Kind.NONE : weight < 11 ? Req.Kind.LENGTH : Req.Kind.CHUNKED));
            Req target = reqs.get(t);
            for (int m = 0; m < mutations; m++) {
                names.add(mutate(target, rnd, index));
            }
            StringBuilder sb = new StringBuilder();
            for (Req r : reqs) {
                sb.append(r.serialise());
            }
            return new Case(index, sb.toString().getBytes(StandardCharsets.ISO_8859_1), names, false);
        }

        private static final String[] TE_VALUES = {"chunked, chunked", "identity", "Chunked", "CHUNKED", "chunked ", "\tchunked",
            "xchunked", "gzip, chunked", "chunked, gzip", "chunked, identity", "chunked,", ", chunked", "chunked;q=1", "\u000bchunked",
            "chunked\u000c", "ch unked", "\"chunked\""};
        private static final String[] CL_VALUES = {"+%d", "-%d", "0x%x", "0%d", "000%d", "%d.0", " %d ", "%d, %d", "%d,%d", "%d %d",
            "99999999999999999999", "", "1%d", "%d\u0000"};
        private static final String[] SIZE_LINES = {"+%x", "-%x", "0x%x", "0%x", "000%X", " %x", "%x ", "%x\t", "%x;", "%x; ",
            "%x;a=b", "%x;a", "%x ;a=\"q\"", "%x;=x", "%x;a=", "%x;a=b\u0000", "%x;a=\"x", "%x;a=b ;c", "%x;a b", "%x\t;\tb = c",
            "%x;a=b;", "%x;a=\"q\\\"r\"", "fffffffffffffffff%x", "%x\u0000", "%x\r"};
        private static final String[] HOSTS = {"example.com:8080", "[::1]", "10.0.0.1:", "", "EXAMPLE.com", "a:99999", "a b", "[::1",
            "a:b:c", "u@a", ":80", "a/b", "a%2g", "a\\b", "a:65535", "a:0080"};
        private static final String[] NAMES = {"X(A)", "X A", "X\"A", "X/A", "X@A", "X[A]", "X{A}", "X=A", "X?A", "X,A", "X;A", "X\tA",
            "", "X\u0000A", "X\u007fA", "X\u00e9A", "X_A", "X.A", "X~A"};
        private static final String[] CONTROLS = {"\u0000", "\u0001", "\u000b", "\u000c", "\u001b", "\u007f", "\r", "\u00e9", "\t", "\u00ff"};
        private static final String[] CONNECTION_FIELDS = {"Connection: close", "Connection: keep-alive", "Connection: close, keep-alive",
            "Connection: Keep-Alive, X-A\r\nX-A: b", "Expect: 100-continue", "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__",
            "Upgrade: websocket\r\nConnection: Upgrade", "Connection: Transfer-Encoding", "Connection: Content-Length", "TE: trailers",
            "Trailer: X-T", "Content-Encoding: gzip"};
        private static final String[] REQUEST_LINES = {"%s  %s HTTP/1.1", "%s\t%s HTTP/1.1", "%s %s HTTP/1.1 ", "%s %s http/1.1",
            "%s %s HTTP/1.2", "%s %s HTTP/2.0", "%s %s", "%s %s HTTP/1", " %s %s HTTP/1.1", "%s %s HTTP/1.10", "%s %s#x HTTP/1.1",
            "%s %s\u00e9 HTTP/1.1", "%s %s%%zz HTTP/1.1", "%s http://example.com%s HTTP/1.1", "%s HTTP://EXAMPLE.COM:80%s HTTP/1.1",
            "%s http://u@example.com%s HTTP/1.1", "%s http://%s HTTP/1.1", "%s https://[::1]:8443%s HTTP/1.1", "%s http://a:b%s HTTP/1.1",
            "%s %s HTTP/1.0"};

        /** Applies one mutation to {@code r}; returns its name. */
        static String mutate(Req r, Random rnd, int index) {
            while (true) {
                // the framing mutations (12 to 23) are drawn twice as often as the others
                int pick = rnd.nextInt(36);
                switch (pick < 24 ? pick : pick - 12) {
                    case 0 -> {
                        int i = rnd.nextInt(HOSTS.length);
                        r.set("Host", HOSTS[i]);
                        return "host[" + escape(HOSTS[i]) + "]";
                    }
                    case 1 -> {
                        boolean same = rnd.nextBoolean();
                        r.fields.add(rnd.nextInt(r.fields.size() + 1), same ? HOST : "Host: other.example");
                        return same ? "host-twice" : "host-twice-different";
                    }
                    case 2 -> {
                        r.remove("Host");
                        return "no-host";
                    }
                    case 3 -> {
                        if (r.fields.isEmpty()) {
                            continue;
                        }
                        int i = rnd.nextInt(r.fields.size());
                        String f = r.fields.get(i);
                        int colon = f.indexOf(':');
                        if (colon < 0) {
                            continue;
                        }
                        String ws = rnd.nextBoolean() ? " " : "\t";
                        r.fields.set(i, f.substring(0, colon) + ws + f.substring(colon));
                        return "whitespace-before-colon[" + escape(f.substring(0, colon)) + "]";
                    }
                    case 4 -> {
                        if (r.fields.isEmpty()) {
                            continue;
                        }
                        int i = rnd.nextInt(r.fields.size());
                        String fold = (rnd.nextBoolean() ? " " : "\t") + (rnd.nextBoolean() ? "folded" : "Transfer-Encoding: chunked");
                        r.fields.add(i + 1, fold);
                        return "obs-fold[" + escape(fold) + "]";
                    }
                    case 5 -> {
                        if (r.fields.isEmpty()) {
                            continue;
                        }
                        int i = rnd.nextInt(r.fields.size());
                        String ctl = CONTROLS[rnd.nextInt(CONTROLS.length)];
                        String f = r.fields.get(i);
                        int at = f.indexOf(':') + 2 + rnd.nextInt(Math.max(1, f.length() - f.indexOf(':') - 2));
                        r.fields.set(i, f.substring(0, Math.min(at, f.length())) + ctl + f.substring(Math.min(at, f.length())));
                        return "character-in-value[" + escape(ctl) + "]";
                    }
                    case 6 -> {
                        String name = NAMES[rnd.nextInt(NAMES.length)];
                        r.fields.add(rnd.nextInt(r.fields.size() + 1), name + ": v");
                        return "field-name[" + escape(name) + "]";
                    }
                    case 7 -> {
                        r.lineEnd = rnd.nextInt(3) == 0 ? "\r" : "\n";
                        r.lineEndAt = rnd.nextInt(r.fields.size() + 3) - 1;
                        return "bare-" + (r.lineEnd.equals("\r") ? "CR" : "LF") + "@" + (r.lineEndAt < 0 ? "every-line" : r.lineEndAt);
                    }
                    case 8 -> {
                        int kind = rnd.nextInt(4);
                        if (kind == 0) {
                            r.target = r.target + "?" + "a".repeat(600);
                        } else if (kind == 1) {
                            r.fields.add("X-Long: " + "b".repeat(700));
                        } else if (kind == 2) {
                            for (int i = 0; i < 12; i++) {
                                r.fields.add("X-" + i + ": v");
                            }
                        } else {
                            r.lead = "\r\n".repeat(1 + rnd.nextInt(2));
                            return "empty-lines-before";
                        }
                        return new String[] {"long-target", "long-field", "many-fields"}[kind];
                    }
                    case 9 -> {
                        String form = REQUEST_LINES[rnd.nextInt(REQUEST_LINES.length)];
                        r.requestLine = String.format(Locale.ROOT, form, r.method, r.target);
                        return "request-line[" + escape(form) + "]";
                    }
                    case 10 -> {
                        r.lead = rnd.nextBoolean() ? "\n" : "\r\n";
                        return "before[" + escape(r.lead) + "]";
                    }
                    case 11 -> {
                        String field = CONNECTION_FIELDS[rnd.nextInt(CONNECTION_FIELDS.length)];
                        r.fields.add(rnd.nextInt(r.fields.size() + 1), field);
                        return "field[" + escape(field) + "]";
                    }
                    case 12, 13 -> {
                        if (r.kind != Req.Kind.LENGTH) {
                            continue;
                        }
                        String form = CL_VALUES[rnd.nextInt(CL_VALUES.length)];
                        r.set("Content-Length", String.format(Locale.ROOT, form, r.data.length(), r.data.length()));
                        return "content-length[" + escape(form) + "]";
                    }
                    case 14 -> {
                        if (r.kind == Req.Kind.NONE) {
                            continue;
                        }
                        String name = r.kind == Req.Kind.LENGTH ? "Content-Length" : "Transfer-Encoding";
                        String value = r.kind == Req.Kind.LENGTH
                                ? String.valueOf(r.data.length() + (rnd.nextBoolean() ? 0 : 1 + rnd.nextInt(3)))
                                : "chunked";
                        r.fields.add(rnd.nextInt(r.fields.size() + 1), name + ": " + value);
                        return "twice[" + name + ": " + value + "]";
                    }
                    case 15 -> {
                        if (r.kind == Req.Kind.NONE) {
                            continue;
                        }
                        if (r.kind == Req.Kind.LENGTH) {
                            r.fields.add(rnd.nextInt(r.fields.size() + 1), "Transfer-Encoding: chunked");
                        } else {
                            r.fields.add(rnd.nextInt(r.fields.size() + 1), "Content-Length: " + rnd.nextInt(20));
                        }
                        return "length-and-chunked";
                    }
                    case 16, 17 -> {
                        if (r.kind != Req.Kind.CHUNKED) {
                            continue;
                        }
                        int form = rnd.nextInt(TE_VALUES.length + 4);
                        if (form < TE_VALUES.length) {
                            r.set("Transfer-Encoding", TE_VALUES[form]);
                            return "transfer-encoding[" + escape(TE_VALUES[form]) + "]";
                        }
                        String[] names = {"Transfer-Encoding : chunked", "Transfer_Encoding: chunked", "Transfer-Encodings: chunked",
                            "transfer-encoding:chunked"};
                        r.remove("Transfer-Encoding");
                        r.fields.add(names[form - TE_VALUES.length]);
                        return "transfer-encoding-field[" + names[form - TE_VALUES.length] + "]";
                    }
                    case 18 -> {
                        if (r.kind == Req.Kind.NONE) {
                            continue;
                        }
                        r.version = "HTTP/1.0";
                        return "http/1.0";
                    }
                    case 19, 20 -> {
                        if (r.kind != Req.Kind.CHUNKED) {
                            continue;
                        }
                        int i = rnd.nextInt(r.chunks.size());
                        String form = SIZE_LINES[rnd.nextInt(SIZE_LINES.length)];
                        r.sizeLines.set(i, String.format(Locale.ROOT, form, r.chunks.get(i).length()));
                        return "size-line[" + escape(form) + "]";
                    }
                    case 21 -> {
                        if (r.kind != Req.Kind.CHUNKED) {
                            continue;
                        }
                        int kind = rnd.nextInt(6);
                        int i = rnd.nextInt(r.chunks.size());
                        switch (kind) {
                            case 0 -> r.chunks.set(i, r.chunks.get(i) + "X");
                            case 1 -> r.chunks.set(i, r.chunks.get(i).substring(1));
                            case 2 -> r.noLastChunk = true;
                            case 3 -> r.trailers.add(rnd.nextBoolean() ? "X-T: v" : "X-T: v\r\n folded");
                            case 4 -> r.lastLine = rnd.nextBoolean() ? "0;x" : "00";
                            default -> r.sizeEnd = "\n";
                        }
                        return new String[] {"chunk-longer", "chunk-shorter", "no-last-chunk", "trailer", "last-chunk-line", "size-line-LF"}[kind];
                    }
                    case 22 -> {
                        if (r.kind != Req.Kind.LENGTH) {
                            continue;
                        }
                        int kind = rnd.nextInt(4);
                        if (kind == 0 && !r.data.isEmpty()) {
                            r.data = r.data.substring(0, rnd.nextInt(r.data.length()));
                            return "body-shorter";
                        } else if (kind == 1) {
                            r.data = r.data + "GET /f" + index + "/s HTTP/1.1\r\n" + HOST + "\r\n\r\n";
                            return "request-after-body";
                        } else if (kind == 2) {
                            r.set("Content-Length", "500");
                            r.data = "z".repeat(500);
                            return "body-over-limit";
                        }
                        r.data = r.data + "xyz";
                        return "body-longer";
                    }
                    default -> {
                        if (r.kind != Req.Kind.CHUNKED) {
                            continue;
                        }
                        // a request hidden in the chunked body: read as one by a server that takes the length
                        r.fields.add("Content-Length: 0");
                        r.remove("Transfer-Encoding");
                        r.fields.add(rnd.nextBoolean() ? "Transfer-Encoding: chunked" : "Transfer-Encoding:  chunked");
                        r.chunks.set(0, "GET /f" + index + "/s HTTP/1.1\r\n" + HOST + "\r\n\r\n");
                        r.sizeLines.set(0, Integer.toHexString(r.chunks.get(0).length()));
                        return "request-in-chunk";
                    }
                }
            }
        }
    }

    /** A request under construction: fields as lines, a body as data and chunk lines. */
    static final class Req {
        enum Kind { NONE, LENGTH, CHUNKED }

        Kind kind;
        String method;
        String target;
        String version = "HTTP/1.1";
        String requestLine;
        String lead = "";
        final List<String> fields = new ArrayList<>();
        String lineEnd;
        int lineEndAt;
        String data = "";
        final List<String> chunks = new ArrayList<>();
        final List<String> sizeLines = new ArrayList<>();
        String sizeEnd = "\r\n";
        String lastLine = "0";
        boolean noLastChunk;
        final List<String> trailers = new ArrayList<>();

        static Req valid(Random rnd, String target) {
            return valid(rnd, target, Kind.values()[rnd.nextInt(3)]);
        }

        static Req valid(Random rnd, String target, Kind kind) {
            Req r = new Req();
            r.kind = kind;
            r.method = r.kind == Kind.NONE ? (rnd.nextInt(4) == 0 ? "DELETE" : "GET") : (rnd.nextInt(4) == 0 ? "PUT" : "POST");
            r.target = target + (rnd.nextBoolean() ? "" : "?q=" + rnd.nextInt(100));
            r.fields.add(HOST);
            if (rnd.nextBoolean()) {
                r.fields.add("User-Agent: fuzz/1.0");
            }
            if (rnd.nextInt(4) == 0) {
                r.fields.add("X-Tab:\tv\u00e9 w ");
            }
            if (r.kind == Kind.LENGTH) {
                r.data = data(rnd, rnd.nextInt(40));
                r.fields.add(rnd.nextInt(r.fields.size() + 1), "Content-Length: " + r.data.length());
            } else if (r.kind == Kind.CHUNKED) {
                r.fields.add(rnd.nextInt(r.fields.size() + 1), "Transfer-Encoding: chunked");
                int n = 1 + rnd.nextInt(3);
                for (int i = 0; i < n; i++) {
                    String d = data(rnd, 1 + rnd.nextInt(20));
                    r.chunks.add(d);
                    r.sizeLines.add(rnd.nextBoolean() ? Integer.toHexString(d.length()) : Integer.toHexString(d.length()).toUpperCase(Locale.ROOT));
                }
            }
            return r;
        }

        private static String data(Random rnd, int n) {
            String alphabet = "abcdefXYZ0123456789 ;:=\r\n\u00e9";
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) {
                sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            if (n > 12 && rnd.nextInt(4) == 0) {
                sb.replace(0, 12, "0\r\n\r\nGET / H");
            }
            return sb.toString();
        }

        void set(String name, String value) {
            for (int i = 0; i < fields.size(); i++) {
                if (fields.get(i).regionMatches(true, 0, name + ":", 0, name.length() + 1)) {
                    fields.set(i, name + ": " + value);
                    return;
                }
            }
            fields.add(name + ": " + value);
        }

        void remove(String name) {
            fields.removeIf(f -> f.regionMatches(true, 0, name + ":", 0, name.length() + 1));
        }

        String serialise() {
            List<String> lines = new ArrayList<>();
            lines.add(requestLine != null ? requestLine : method + " " + target + " " + version);
            lines.addAll(fields);
            lines.add("");
            StringBuilder sb = new StringBuilder(lead);
            for (int i = 0; i < lines.size(); i++) {
                sb.append(lines.get(i)).append(lineEnd != null && (lineEndAt < 0 || i == Math.min(lineEndAt, lines.size() - 1)) ? lineEnd : "\r\n");
            }
            if (kind == Kind.LENGTH) {
                sb.append(data);
            } else if (kind == Kind.CHUNKED) {
                for (int i = 0; i < chunks.size(); i++) {
                    sb.append(sizeLines.get(i)).append(sizeEnd).append(chunks.get(i)).append("\r\n");
                }
                if (!noLastChunk) {
                    sb.append(lastLine).append("\r\n");
                    for (String t : trailers) {
                        sb.append(t).append("\r\n");
                    }
                    sb.append("\r\n");
                }
            }
            return sb.toString();
        }
    }

    // ---------------------------------------------------------------- response direction

    private static String runResponseCase(int index, Case k, Map<String, Integer> stricter, Map<String, Integer> outcomes) throws IOException {
        String first = "/r" + index + "/0";
        String second = "/r" + index + "/1";
        backend.script = new Script(first, k.bytes, k.closeAfter);
        boolean head = k.mutations.contains("HEAD");
        StrictReference.Result ref = StrictReference.responses(k.bytes, head);
        StrictReference.Message valid = finalResponse(ref.messages());
        byte[] answer = exchange(proxy.port(), ((head ? "HEAD " : "GET ") + first + " HTTP/1.1\r\n" + HOST + "\r\n\r\nGET " + second
                + " HTTP/1.1\r\n" + HOST + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        if (answer == null) {
            return "the proxy did not close the connection within 5 s; reference: " + ref;
        }
        List<FuzzBackend.Forwarded> forwarded = backend.take("/r" + index + "/");
        String violation = backend.violations.poll();
        if (violation != null) {
            return "the backend's strict reading of what the proxy sent failed: " + violation;
        }
        StrictReference.Result got = StrictReference.responses(answer, head);
        if (got.end() == StrictReference.End.REJECTED) {
            return "the client got bytes that are not HTTP responses: " + escape(answer);
        }
        List<StrictReference.Message> responses = new ArrayList<>();
        for (StrictReference.Message m : got.messages()) {
            String problem = StrictReference.framingOnABodilessResponse(m);
            if (problem != null) {
                return "the proxy wrote " + problem + ": " + escape(answer);
            }
            if (m.status() >= 200) {
                responses.add(m);
            }
        }
        String outcome;
        if (responses.isEmpty()) {
            if (valid != null) {
                return "a valid response (" + valid + ") was not relayed: " + escape(answer);
            }
            outcome = "cut";
        } else {
            StrictReference.Message r0 = responses.get(0);
            if (r0.status() == 502) {
                outcome = valid == null ? "502 as the reference" : "stricter";
                if (valid != null) {
                    stricter.merge(k.mutations.toString(), 1, Integer::sum);
                }
                Integer c0 = connectionOf(forwarded, first);
                Integer c1 = connectionOf(forwarded, second);
                if (c0 != null && c0.equals(c1)) {
                    return "the connection of the invalid response was used again for the next request";
                }
            } else if (valid == null) {
                return "relayed " + r0 + " where the reference refuses the server's response (" + ref.reason() + ")";
            } else if (r0.status() != valid.status() || !Arrays.equals(r0.body(), valid.body())) {
                return "relayed " + r0 + " where the reference reads " + valid;
            } else {
                outcome = "relayed as the reference";
            }
        }
        if (responses.size() > 2) {
            return responses.size() + " responses to two requests: " + escape(answer);
        }
        if (responses.size() == 2) {
            StrictReference.Message r1 = responses.get(1);
            if (r1.status() != 200 || !new String(r1.body(), StandardCharsets.ISO_8859_1).equals(FuzzBackend.tag("GET", second, new byte[0]))) {
                return "the second response is " + r1 + ", not the answer to " + second + ": " + escape(answer);
            }
        } else if (got.end() == StrictReference.End.COMPLETE && !responses.isEmpty() && !responses.get(0).closes()
                && !"close".equalsIgnoreCase(responses.get(0).header("connection"))) {
            outcome += ", then closed without Connection: close";
        }
        outcomes.merge(outcome, 1, Integer::sum);
        return stillServing(index);
    }

    /** The first final response, when only interim ones come before it; null when there is none. */
    private static StrictReference.Message finalResponse(List<StrictReference.Message> messages) {
        for (StrictReference.Message m : messages) {
            if (m.status() >= 200) {
                return m;
            }
        }
        return null;
    }

    private static Integer connectionOf(List<FuzzBackend.Forwarded> forwarded, String target) {
        for (FuzzBackend.Forwarded f : forwarded) {
            if (f.target().equals(target)) {
                return f.connection();
            }
        }
        return null;
    }

    /** A scripted answer: the raw bytes for one target, and whether the server closes after them. */
    record Script(String target, byte[] bytes, boolean closeAfter) {
    }

    /** Valid responses to a GET, then framing mutations. */
    static final class ResponseCases {

        private static final String[] STATUS_LINES = {"HTTP/1.1 200", "HTTP/1.1 200 ", "HTTP/1.1 2000 OK", "HTTP/1.1 20 OK",
            "HTTP/1.1  200 OK", "http/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 600 X", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 O\u0000K",
            "HTTP/1.1 200 OK ", "HTTP/1.2 200 OK", " HTTP/1.1 200 OK", "HTTP/1.1 200\tOK", "HTTP/1.1 201 \u00e9",
            "HTTP/1.1 204 No Content", "HTTP/1.1 304 Not Modified", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK",
            "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK", "HTTP/1.1 100 Continue\r\nContent-Length: 2\r\n\r\nHTTP/1.1 200 OK",
            "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK"};

        static Case generate(long seed, int index) {
            Random rnd = new Random(seed * 0x2545F4914F6CDD1DL + index);
            Req r = Req.valid(rnd, "/");
            String body = r.kind == Req.Kind.LENGTH ? r.data : r.kind == Req.Kind.CHUNKED ? String.join("", r.chunks) : Req.data(rnd, 5);
            List<String> names = new ArrayList<>();
            String status = "HTTP/1.1 200 OK";
            r.fields.clear();
            if (r.kind == Req.Kind.LENGTH) {
                r.fields.add("Content-Length: " + r.data.length());
            } else if (r.kind == Req.Kind.CHUNKED) {
                r.fields.add("Transfer-Encoding: chunked");
            } else {
                r.kind = Req.Kind.LENGTH;
                r.data = body;
                names.add("close-delimited");
            }
            r.fields.add(rnd.nextInt(r.fields.size() + 1), "Server: fuzz");
            boolean closeAfter = names.contains("close-delimited");
            int mutations = rnd.nextInt(8) == 0 ? 0 : 1;
            for (int m = 0; m < mutations; m++) {
                int what = rnd.nextInt(8);
                if (what == 0) {
                    status = STATUS_LINES[rnd.nextInt(STATUS_LINES.length)];
                    names.add("status[" + escape(status) + "]");
                } else if (what == 1 && r.kind == Req.Kind.LENGTH && !closeAfter) {
                    if (rnd.nextBoolean() && !r.data.isEmpty()) {
                        r.data = r.data.substring(0, rnd.nextInt(r.data.length()));
                        closeAfter = true;
                        names.add("body-shorter-then-close");
                    } else {
                        r.data = r.data + (rnd.nextBoolean() ? "xyz" : "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad");
                        names.add("body-longer");
                    }
                } else if (what == 2 && r.kind == Req.Kind.CHUNKED && rnd.nextBoolean()) {
                    r.noLastChunk = true;
                    closeAfter = true;
                    names.add("no-last-chunk-then-close");
                } else {
                    String name = RequestCases.mutate(r, rnd, index);
                    if (name.startsWith("request-line") || name.equals("http/1.0") || name.startsWith("host") || name.equals("no-host")
                            || name.startsWith("before") || name.equals("empty-lines-before") || name.equals("request-after-body")
                            || name.equals("long-target") || name.equals("request-in-chunk")) {
                        // request-only shapes: replaced by a plain status line mutation
                        status = STATUS_LINES[rnd.nextInt(STATUS_LINES.length)];
                        name = "status[" + escape(status) + "]";
                        r.requestLine = null;
                        r.lead = "";
                    }
                    if (name.equals("body-shorter") || name.equals("no-last-chunk")) {
                        closeAfter = true;
                    }
                    names.add(name);
                }
            }
            r.requestLine = status;
            // a quarter of the cases answer a HEAD request: no body whatever the fields say
            boolean head = rnd.nextInt(4) == 0;
            if (head) {
                names.add("HEAD");
            }
            byte[] bytes = r.serialise().getBytes(StandardCharsets.ISO_8859_1);
            StrictReference.Result ref = StrictReference.responses(bytes, head);
            StrictReference.Message first = finalResponse(ref.messages());
            // a server whose answer has no framing of its own (or none the reference reads) closes after it
            closeAfter |= first == null || (!first.chunked() && first.header("content-length") == null);
            return new Case(index, bytes, names, closeAfter);
        }
    }

    // ---------------------------------------------------------------- the client and the backend

    /** Writes {@code raw}, ends the client's side, reads until the proxy closes; null when it does not within 5 s. */
    static byte[] exchange(int port, byte[] raw) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            try {
                s.getOutputStream().write(raw);
                s.shutdownOutput();
            } catch (SocketException closedEarly) {
                // the proxy refused and closed while the client was still writing; read what it answered
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                }
            } catch (SocketTimeoutException timeout) {
                return null;
            } catch (SocketException reset) {
                // closed with unread input: what was read so far is what the client got
            }
            return out.toByteArray();
        }
    }

    static String escape(byte[] bytes) {
        return escape(new String(bytes, StandardCharsets.ISO_8859_1));
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 600; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\r' -> sb.append("\\r");
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> sb.append(c < 0x20 || c >= 0x7f ? String.format(Locale.ROOT, "\\u%04x", (int) c) : String.valueOf(c));
            }
        }
        return sb.append(s.length() > 600 ? "\"..." : "\"").toString();
    }

    /**
     * A backend that reads every connection's bytes with {@link StrictReference} (no limits, reading
     * on after a {@code Connection: close}), records each whole request, and answers it with a 200
     * whose body names it ({@link #tag}), or with the {@link #script} for its target. Bytes it cannot
     * read strictly are a violation; bytes left unread when a connection closes are kept as partials.
     */
    static final class FuzzBackend implements AutoCloseable {

        private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

        /** One whole request as the backend read it. */
        record Forwarded(int connection, String method, String target, byte[] body) {
            String tag() {
                return FuzzBackend.tag(method, target, body);
            }

            @Override
            public String toString() {
                return method + " " + target + " body=" + escape(body) + " on connection " + connection;
            }
        }

        private final Channel server;
        private final AtomicInteger connections = new AtomicInteger();
        private final List<Channel> open = new CopyOnWriteArrayList<>();
        private final ConcurrentLinkedQueue<Forwarded> forwarded = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        private final ConcurrentLinkedQueue<String> partials = new ConcurrentLinkedQueue<>();
        private final List<Conn> live = new CopyOnWriteArrayList<>();
        private final List<String> late = new CopyOnWriteArrayList<>();
        private final java.util.Set<Integer> headRefused = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile Script script;

        FuzzBackend() {
            server = new ServerBootstrap()
                    .group(GROUP)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            open.add(ch);
                            ch.closeFuture().addListener(f -> open.remove(ch));
                            ch.pipeline().addLast(new Conn(connections.incrementAndGet()));
                        }
                    })
                    .bind("127.0.0.1", 0).syncUninterruptibly().channel();
        }

        String address() {
            return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
        }

        /** The answer's body for a request: its method, its target in origin form, its body's length and hash. */
        static String tag(String method, String target, byte[] body) {
            String lower = target.toLowerCase(Locale.ROOT);
            int scheme = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
            if (scheme > 0) {
                int path = scheme;
                while (path < target.length() && "/?".indexOf(target.charAt(path)) < 0) {
                    path++;
                }
                target = path == target.length() ? "/" : target.charAt(path) == '?' ? "/" + target.substring(path) : target.substring(path);
            }
            return method + " " + target + " " + body.length + " " + Integer.toHexString(Arrays.hashCode(body));
        }

        void expectHeadRefusal(int index, boolean refused) {
            if (refused) {
                headRefused.add(index);
            }
        }

        /** Takes the requests whose target holds {@code tag}; any other case's request found now is a late failure. */
        List<Forwarded> take(String tag) {
            List<Forwarded> mine = new ArrayList<>();
            for (Forwarded f; (f = forwarded.poll()) != null; ) {
                if (f.target.contains(tag)) {
                    mine.add(f);
                } else if (!f.target.startsWith("/probe/")) {
                    late.add("forwarded after its case had been checked, or without a case: " + f);
                }
            }
            return mine;
        }

        /** Unread bytes holding {@code tag}, on a live connection or one closed since. */
        String partialWith(String tag) {
            for (Conn c : live) {
                String s = c.unread();
                if (s.contains(tag)) {
                    return s;
                }
            }
            for (String s : partials) {
                if (s.contains(tag)) {
                    return s;
                }
            }
            return null;
        }

        /** Failures seen after their case: late requests, violations, heads of refused requests. */
        List<String> lateFailures() {
            List<String> out = new ArrayList<>(late);
            for (String v; (v = violations.poll()) != null; ) {
                out.add("strict reading of the proxy's bytes failed: " + v);
            }
            for (String p : partials) {
                for (int index : headRefused) {
                    if (p.contains("/f" + index + "/") && StrictReference.requests(p.getBytes(StandardCharsets.ISO_8859_1),
                            StrictReference.Limits.NONE, false).messages().isEmpty() && !p.contains("/f" + index + "/s")) {
                        out.add("case " + index + ": bytes of a head the reference refuses reached the backend: " + escape(p));
                    }
                }
            }
            late.clear();
            partials.clear();
            return out;
        }

        @Override
        public void close() {
            server.close().syncUninterruptibly();
            for (Channel ch : open) {
                ch.close().syncUninterruptibly();
            }
        }

        private final class Conn extends ChannelInboundHandlerAdapter {
            private final int id;
            private volatile byte[] buffer = new byte[0];

            Conn(int id) {
                this.id = id;
            }

            String unread() {
                return new String(buffer, StandardCharsets.ISO_8859_1);
            }

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                live.add(this);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                live.remove(this);
                if (buffer.length > 0) {
                    partials.add(unread());
                }
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf in = (ByteBuf) msg;
                byte[] joined = Arrays.copyOf(buffer, buffer.length + in.readableBytes());
                in.readBytes(joined, buffer.length, in.readableBytes());
                in.release();
                StrictReference.Result r = StrictReference.requests(joined, StrictReference.Limits.NONE, false);
                buffer = Arrays.copyOfRange(joined, r.consumed(), joined.length);
                for (StrictReference.Message m : r.messages()) {
                    Forwarded f = new Forwarded(id, m.method(), m.target(), m.body());
                    forwarded.add(f);
                    Script s = script;
                    if (s != null && s.target.equals(m.target())) {
                        ctx.writeAndFlush(Unpooled.wrappedBuffer(s.bytes));
                        if (s.closeAfter) {
                            ctx.close();
                            return;
                        }
                    } else {
                        String tag = f.tag();
                        ctx.writeAndFlush(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\nContent-Length: " + tag.length() + "\r\n\r\n" + tag,
                                StandardCharsets.ISO_8859_1));
                    }
                }
                if (r.end() == StrictReference.End.REJECTED) {
                    violations.add("connection " + id + ": " + r.reason() + " in " + escape(buffer));
                    buffer = new byte[0];
                    ctx.close();
                }
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }
    }
}
