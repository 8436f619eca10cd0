package io.lodestone.core.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.TestRequest;
import com.sun.management.ThreadMXBean;
import io.lodestone.core.route.internal.HttpRequestView;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** What each {@link HashKey} reads of a request, and how it hashes it. */
class HashKeyTest {

    private static long param(String target, String name) {
        return HashKey.queryParameter(name).hash(TestRequest.get(target));
    }

    /** The hash a present value gets: the same as a server name's ({@link Hashes#hash(String)}). */
    private static long valueHash(String value) {
        return Hashes.hash(value);
    }

    @Test
    void aQueryParameterIsFoundByItsExactNameAndHashedAsSent() {
        assertThat(param("/p?a=1&b=2", "a")).isEqualTo(valueHash("1"));
        assertThat(param("/p?a=1&b=2", "b")).isEqualTo(valueHash("2"));
        assertThat(param("/p?b=2&a=1", "a")).as("order of the parameters").isEqualTo(valueHash("1"));
        assertThat(param("/p?ab=1&xa=2&a=3", "a")).as("a longer name or one ending in a is not a").isEqualTo(valueHash("3"));
        // repeated: the first wins, as HAProxy's url_param takes the first
        assertThat(param("/p?a=1&a=2", "a")).isEqualTo(valueHash("1"));
        // the value runs to the next & and may hold =
        assertThat(param("/p?a=x=y&b=2", "a")).isEqualTo(valueHash("x=y"));
    }

    @Test
    void aQueryParameterWithoutValueOrWithoutTheNameIsAbsent() {
        assertThat(param("/p?b", "b")).as("?b").isZero();
        assertThat(param("/p?a=", "a")).as("?a=").isZero();
        assertThat(param("/p?a=&a=2", "a")).as("the first, empty, wins").isZero();
        assertThat(param("/p", "a")).as("no query").isZero();
        assertThat(param("/p?", "a")).as("empty query").isZero();
        assertThat(param("/p?&&b=1&", "a")).isZero();
        assertThat(param("/p?A=1", "a")).as("names are case-sensitive").isZero();
    }

    @Test
    void aQueryParameterIsNotPercentDecoded() {
        assertThat(param("/p?u=a%40b", "u")).isEqualTo(valueHash("a%40b")).isNotEqualTo(param("/p?u=a@b", "u"));
        assertThat(param("/p?u=a+b", "u")).isEqualTo(valueHash("a+b")).isNotEqualTo(param("/p?u=a%20b", "u"));
        // nor is the name: %75 is not u
        assertThat(param("/p?%75=1", "u")).isZero();
        assertThat(param("/p?%75=1", "%75")).isEqualTo(valueHash("1"));
    }

    @Test
    void pathIgnoresTheQueryAndUriKeepsIt() {
        HashKey path = HashKey.path();
        HashKey uri = HashKey.uri();
        assertThat(path.hash(TestRequest.get("/img/a.png?v=1"))).isEqualTo(path.hash(TestRequest.get("/img/a.png?v=2")))
                .isEqualTo(valueHash("/img/a.png"));
        assertThat(path.hash(TestRequest.get("/img/b.png"))).isNotEqualTo(path.hash(TestRequest.get("/img/a.png")));
        assertThat(uri.hash(TestRequest.get("/img/a.png?v=1"))).isEqualTo(valueHash("/img/a.png?v=1"))
                .isNotEqualTo(uri.hash(TestRequest.get("/img/a.png?v=2")));
        assertThat(uri.hash(TestRequest.get("/a"))).isEqualTo(valueHash("/a"));
        assertThat(uri.hash(TestRequest.get("/a?"))).as("an empty query is kept").isEqualTo(valueHash("/a?"));
        // raw, as sent: neither decoded nor normalised; an absolute-form target hashes its path
        assertThat(path.hash(TestRequest.get("/%61"))).isEqualTo(valueHash("/%61")).isNotEqualTo(path.hash(TestRequest.get("/a")));
        assertThat(uri.hash(TestRequest.get("http://example.com/a?b=1"))).isEqualTo(valueHash("/a?b=1"));
    }

    @Test
    void aHeaderIsItsFirstValueByCaseInsensitiveName() {
        HashKey tenant = HashKey.header("X-Tenant");
        assertThat(tenant.name()).isEqualTo("x-tenant");
        assertThat(tenant.hash(TestRequest.get("/").header("x-tenant", "acme"))).isEqualTo(valueHash("acme"));
        assertThat(tenant.hash(TestRequest.get("/").header("X-TENANT", "acme").header("x-tenant", "other")))
                .isEqualTo(valueHash("acme"));
        assertThat(tenant.hash(TestRequest.get("/").header("x-tenant", "Acme"))).as("values are not case-folded")
                .isNotEqualTo(valueHash("acme"));
        assertThat(tenant.hash(TestRequest.get("/"))).as("absent").isZero();
        assertThat(tenant.hash(TestRequest.get("/").header("x-tenant", ""))).as("empty").isZero();
    }

    @Test
    void aHeaderListIsItsFirstElementAsHaproxyHashesIt() {
        // "X-Tenant: a, b" is "X-Tenant: a" then "X-Tenant: b" (RFC 9110, 5.3): both are the key a,
        // as HAProxy's hdr(name) reads it, so a hop that joins or splits the lines does not move it
        HashKey tenant = HashKey.header("X-Tenant");
        long acme = valueHash("acme");
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", "acme, other"))).isEqualTo(acme);
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", "acme,other"))).isEqualTo(acme);
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", "acme \t, other"))).isEqualTo(acme);
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", "acme").header("X-Tenant", "other"))).isEqualTo(acme);
        // a comma inside a quoted string does not end the element
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", "\"a,\\\"b\", c")))
                .isEqualTo(valueHash("\"a,\\\"b\""));
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", ", acme"))).as("empty first element").isZero();
        assertThat(tenant.hash(TestRequest.get("/").header("X-Tenant", " , "))).as("empty elements").isZero();
    }

    /** An engine-style view of a request target, as the HTTP engine builds one per request. */
    private static final class TargetView extends HttpRequestView {
        TargetView(String target) {
            super(new InetSocketAddress("192.0.2.1", 40000), 80, null, null, "GET", target);
        }

        @Override
        public String header(String name) {
            return null;
        }

        @Override
        public List<String> headers(String name) {
            return List.of();
        }
    }

    /** Targets as an engine's view holds them, each with the target a TestRequest reads the same parts from. */
    private static final String[][] TARGETS = {{"/a", "/a"}, {"/a?", "/a?"}, {"/a?b=1", "/a?b=1"},
        {"/a?x=1&b=2&b=3", "/a?x=1&b=2&b=3"}, {"/a;p=1?b=&b=2", "/a;p=1?b=&b=2"}, {"/a?b", "/a?b"}, {"/a#f", "/a"},
        {"/a?b=1#f", "/a?b=1"}, {"/a#f?b=1", "/a"}, {"/", "/"}, {"/?b=%41", "/?b=%41"}, {"http://h", "/"},
        {"http://h?b=1", "/?b=1"}, {"http://h/a?b=1#f", "/a?b=1"}, {"https://h:8443/a/b?c=1&b=x", "/a/b?c=1&b=x"}};

    @Test
    void anEngineViewHashesInTheTargetWhatTheRawPathAndQueryHold() {
        for (HashKey key : new HashKey[] {HashKey.path(), HashKey.uri(), HashKey.queryParameter("b")}) {
            for (String[] t : TARGETS) {
                assertThat(key.hash(new TargetView(t[0]))).as("%s in %s", key, t[0]).isEqualTo(key.hash(TestRequest.get(t[1])));
            }
        }
        assertThat(HashKey.path().hash(new TargetView("*"))).isEqualTo(valueHash("*"));
        assertThat(HashKey.uri().hash(new TargetView("/a?b=1"))).isEqualTo(valueHash("/a?b=1"));
        assertThat(HashKey.queryParameter("b").hash(new TargetView("/a?x=1&b=2&b=3"))).isEqualTo(valueHash("2"));
        assertThat(HashKey.queryParameter("b").hash(new TargetView("/a;p=1?b=&b=2"))).as("empty: absent").isZero();
    }

    @Test
    void anEngineViewIsHashedWithoutAllocating() {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        int n = 2_000;
        TargetView[] views = new TargetView[n * 3];
        for (int i = 0; i < views.length; i++) {
            views[i] = new TargetView("/images/" + i + "/thumb.png?size=" + i + "&user=u" + i);
        }
        HashKey[] keys = {HashKey.path(), HashKey.uri(), HashKey.queryParameter("user")};
        long sum = 0;
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < views.length; i++) {
            sum += keys[i % 3].hash(views[i]);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(sum).isNotZero();
        // a substring per request would be some 100 KB here; a few bytes of the JVM's own may show
        assertThat(allocated).as("bytes allocated hashing %s requests", views.length).isLessThan(4_096);
    }

    @Test
    void aCookieIsItsFirstValueWithoutQuotes() {
        HashKey session = HashKey.cookie("sid");
        assertThat(session.hash(TestRequest.get("/").cookie("a", "1").cookie("sid", "abc"))).isEqualTo(valueHash("abc"));
        assertThat(session.hash(TestRequest.get("/").cookie("sid", "\"abc\""))).isEqualTo(valueHash("abc"));
        assertThat(session.hash(TestRequest.get("/").cookie("sid", "abc").cookie("sid", "def"))).isEqualTo(valueHash("abc"));
        assertThat(session.hash(TestRequest.get("/").cookie("SID", "abc"))).as("names are exact").isZero();
        assertThat(session.hash(TestRequest.get("/").cookie("sid", ""))).as("empty").isZero();
        assertThat(session.hash(TestRequest.get("/"))).isZero();
    }

    @Test
    void aFunctionKeyIsAbsentWhenItReturnsNullOrEmpty() {
        Function<RequestView, String> host = RequestView::host;
        HashKey key = HashKey.of(host);
        assertThat(key.hash(TestRequest.get("/").host("a.example"))).isEqualTo(valueHash("a.example"));
        assertThat(HashKey.of(r -> null).hash(TestRequest.get("/"))).isZero();
        assertThat(HashKey.of(r -> "").hash(TestRequest.get("/"))).isZero();
        assertThat(key).isEqualTo(HashKey.of(host)).isNotEqualTo(HashKey.of(RequestView::host));
    }

    @Test
    void sourceIsTheAffinityHashOfTheClientAddress() throws Exception {
        assertThat(HashKey.source().hash(TestRequest.get("/").source("192.0.2.7")))
                .isEqualTo(PickContext.hash(InetAddress.getByName("192.0.2.7")));
        assertThat(HashKey.source().readsHttp()).isFalse();
        assertThat(HashKey.path().readsHttp()).isTrue();
        assertThat(HashKey.of(r -> "x").readsHttp()).isTrue();
    }

    @Test
    void aConnectionHasNoRequestKey() {
        TestRequest connection = TestRequest.connection();
        assertThat(HashKey.path().hash(connection)).isZero();
        assertThat(HashKey.uri().hash(connection)).isZero();
        assertThat(HashKey.header("x").hash(connection)).isZero();
        assertThat(HashKey.cookie("x").hash(connection)).isZero();
        assertThat(HashKey.queryParameter("x").hash(connection)).isZero();
    }

    @Test
    void hashesTheUtf8BytesOfAValueWithoutCopyingThem() {
        // 2-, 3- and 4-byte characters and an unpaired surrogate, as String.getBytes encodes them
        for (String v : new String[] {"é", "ÿ€", "a\uD83D\uDE00b", "x\uD800y", "\uDC00", "tail\uD83D"}) {
            long reference = 0xcbf29ce484222325L;
            for (byte b : v.getBytes(StandardCharsets.UTF_8)) {
                reference = (reference ^ (b & 0xff)) * 0x100000001b3L;
            }
            assertThat(Hashes.fnv(Hashes.FNV_START, v, 0, v.length())).as(v).isEqualTo(reference);
            assertThat(HashKey.header("x").hash(TestRequest.get("/").header("x", v))).as(v).isEqualTo(Hashes.hash(v));
        }
    }

    @Test
    void theHashOfAKeyIsFixed() {
        // pinned: a change here moves every key to another server in a mixed fleet of instances
        assertThat(HashKey.path().hash(TestRequest.get("/a"))).isEqualTo(Hashes.hash("/a")).isEqualTo(4273936336627717636L);
    }

    @Test
    void namesAreChecked() {
        assertThatThrownBy(() -> HashKey.header("X Tenant")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hash key header: X Tenant (expected: an HTTP token)");
        assertThatThrownBy(() -> HashKey.header("")).hasMessage("hash key header: \"\" (expected: a header name)");
        assertThatThrownBy(() -> HashKey.cookie("a;b")).hasMessage("hash key cookie: a;b (expected: an HTTP token)");
        assertThatThrownBy(() -> HashKey.cookie(null)).hasMessage("hash key cookie: null (expected: a cookie name)");
        assertThatThrownBy(() -> HashKey.queryParameter("a=b"))
                .hasMessage("hash key query parameter: a=b (expected: a name without &, =, #, spaces or control characters)");
        assertThatThrownBy(() -> HashKey.queryParameter("")).hasMessage("hash key query parameter: \"\" (expected: a parameter name)");
        assertThatThrownBy(() -> HashKey.of(null)).isInstanceOf(NullPointerException.class).hasMessage("hash key function");
        assertThatThrownBy(() -> BalancingStrategy.hashOn(null))
                .hasMessage("hashOn key: null (expected: a HashKey, e.g. HashKey.path())");
    }

    @Test
    void keysDescribeThemselvesAndCompareByValue() {
        assertThat(HashKey.header("X-Tenant")).isEqualTo(HashKey.header("x-tenant")).hasSameHashCodeAs(HashKey.header("x-tenant"))
                .hasToString("header x-tenant");
        assertThat(HashKey.cookie("sid")).hasToString("cookie sid").isNotEqualTo(HashKey.header("sid"));
        assertThat(HashKey.queryParameter("u")).hasToString("query parameter u");
        assertThat(HashKey.uri()).hasToString("uri");
        assertThat(BalancingStrategy.hashOn(HashKey.header("X-Tenant"))).hasToString("hashOn(header x-tenant)")
                .isEqualTo(BalancingStrategy.hashOn(HashKey.header("x-tenant")));
        assertThat(BalancingStrategy.hashOn(HashKey.path()).hashKey()).isEqualTo(HashKey.path());
        assertThat(BalancingStrategy.roundRobin().hashKey()).isNull();
        assertThat(BalancingStrategy.sourceHash().hashKey()).isNull();
    }
}
