package io.lodestone.core.route.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.Acl;
import io.lodestone.core.route.RequestView;
import io.lodestone.core.route.TestRequest;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RuleIndexTest {

    private static RuleIndex index(Acl... conditions) {
        AclNode[] nodes = new AclNode[conditions.length];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = AclNode.node(conditions[i]);
        }
        return RuleIndex.build(nodes);
    }

    /** The rules the index would have a router evaluate for this request, in order. */
    private static List<Integer> candidates(RuleIndex index, RequestView view) {
        List<Integer> out = new ArrayList<>();
        RuleIndex.Scratch s = RuleIndex.acquire();
        try {
            for (int i = index.first(view, s); i >= 0; i = index.next(i, view, s)) {
                out.add(i);
            }
        } finally {
            RuleIndex.release(s);
        }
        return out;
    }

    @Test
    void onlyRulesWhoseGuardHoldsAreCandidatesInRuleOrder() {
        RuleIndex index = index(
                Acl.pathBegins("/a"),             // 0
                Acl.host("x.example.com"),        // 1
                Acl.headerExists("X-Flag"),       // 2
                Acl.source("10.0.0.0/8"),         // 3: no guard, always evaluated
                Acl.pathEnds(".css"),             // 4
                Acl.method("POST"),               // 5
                Acl.path("/a/b.css"),             // 6
                Acl.header("X-Flag", "t1"),       // 7
                Acl.hostWildcard("*.example.com"), // 8
                Acl.hostBegins("x."),             // 9
                Acl.pathEnds(".js"),              // 10
                Acl.method("PUT"),                // 11
                Acl.hostEnds(".org"),             // 12
                Acl.header("X-Other", "1")        // 13: alone in its family, so always evaluated
        );
        assertThat(index.familyOf(13)).isEqualTo(-1);
        assertThat(candidates(index, TestRequest.get("/a/b.css").host("y.example.com").header("X-Flag", "t2")))
                .containsExactly(0, 2, 3, 4, 6, 8, 13);
        assertThat(candidates(index, TestRequest.post("/z").host("x.example.com").header("x-flag", "t1")))
                .containsExactly(1, 2, 3, 5, 7, 8, 9, 13);
        assertThat(candidates(index, TestRequest.connection())).containsExactly(3, 13);
    }

    @Test
    void randomCustomAndNegatedConditionsAreAlwaysCandidates() {
        RuleIndex index = index(
                Acl.and(Acl.random(0.5), Acl.pathBegins("/x")),
                Acl.and(Acl.pathBegins("/x"), Acl.random(0.5)),
                Acl.and(Acl.pathBegins("/x"), v -> true),
                Acl.describe("mine", v -> true),
                Acl.not(Acl.pathBegins("/y")),
                Acl.or(Acl.path("/x"), Acl.pathContains("x")),
                Acl.and(Acl.pathBegins("/x"), Acl.not(Acl.source("10.0.0.0/8"))),
                Acl.describe("admin", Acl.pathBegins("/x")));
        for (int i = 0; i < 6; i++) {
            assertThat(index.familyOf(i)).as("rule %d", i).isEqualTo(-1);
        }
        assertThat(index.familyOf(6)).isGreaterThanOrEqualTo(0);
        assertThat(index.familyOf(7)).isEqualTo(index.familyOf(6));
        assertThat(candidates(index, TestRequest.get("/nope"))).containsExactly(0, 1, 2, 3, 4, 5);
    }

    @Test
    void anOrOfOneFamilyIsTheUnionOfItsGuards() {
        RuleIndex index = index(
                Acl.or(Acl.path("/admin"), Acl.pathBegins("/admin/")),
                Acl.pathBegins("/other"),
                Acl.or(Acl.never(), Acl.host("a.example")),
                Acl.host("b.example"),
                Acl.never(),
                Acl.and(Acl.always(), Acl.never()));
        assertThat(index.familyOf(4)).isEqualTo(-2);
        assertThat(index.familyOf(5)).isEqualTo(-2);
        assertThat(candidates(index, TestRequest.get("/admin"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/admin/x"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/administrator").host("a.example"))).containsExactly(2);
    }

    @Test
    void anOrAcrossFamiliesIsACandidateWhenAnyOfThemHolds() {
        RuleIndex index = index(
                Acl.or(Acl.path("/exact9"), Acl.cookie("route", "c9")),   // 0
                Acl.or(Acl.path("/exact8"), Acl.cookie("route", "c8")),   // 1
                Acl.pathBegins("/svc/"),                                  // 2
                Acl.or(Acl.queryParamExists("debug"), Acl.header("X-Debug", "1"), Acl.method("TRACE")), // 3
                Acl.queryParam("debug", "2"),                             // 4
                Acl.cookieIgnoreCase("route", "C7"));                     // 5
        assertThat(index.families()).isEqualTo(5);
        assertThat(candidates(index, TestRequest.get("/exact9"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/svc/x").cookie("route", "c8"))).containsExactly(1, 2, 5);
        assertThat(candidates(index, TestRequest.get("/?debug=2"))).containsExactly(3, 4);
        assertThat(candidates(index, TestRequest.get("/").header("X-Debug", "1"))).containsExactly(3);
        assertThat(candidates(index, TestRequest.request("TRACE", "/"))).containsExactly(3);
        assertThat(candidates(index, TestRequest.get("/").header("X-Debug", "2").cookie("other", "c9"))).isEmpty();
        assertThat(candidates(index, TestRequest.connection())).isEmpty();
    }

    @Test
    void anAndIsGuardedByItsMostSelectivePart() {
        RuleIndex index = index(
                Acl.and(Acl.hostBegins("api."), Acl.path("/v2/items")),
                Acl.pathBegins("/v2/"));
        assertThat(index.familyOf(0)).isEqualTo(index.familyOf(1));
        assertThat(candidates(index, TestRequest.get("/v2/items").host("www.example"))).containsExactly(0, 1);
        assertThat(candidates(index, TestRequest.get("/v2/other").host("api.example"))).containsExactly(1);
    }

    @Test
    void caseInsensitiveGuardsFoldAsStringComparisonDoes() {
        RuleIndex index = index(
                Acl.pathBeginsIgnoreCase("/key"),
                Acl.pathIgnoreCase("/STRASSE"),
                Acl.pathEndsIgnoreCase(".CSS"),
                Acl.pathRegexIgnoreCase("^/Static/[0-9]+"),
                Acl.pathEndsIgnoreCase(".JS"));
        // The Kelvin sign folds to k, the long s to s: String.regionMatches(true, ...) agrees.
        assertThat(candidates(index, TestRequest.get("/\u212Aey/x"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/KEY"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/stra\u017Fse"))).containsExactly(1);
        assertThat(candidates(index, TestRequest.get("/a/B.Css"))).containsExactly(2);
        assertThat(candidates(index, TestRequest.get("/STATIC/1"))).containsExactly(3);
        assertThat(candidates(index, TestRequest.get("/Key"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/ke"))).isEmpty();
    }

    @Test
    void pathGuardsReadTheNormalisedPath() {
        RuleIndex index = index(Acl.pathBegins("/admin"), Acl.pathBegins("/other"));
        assertThat(candidates(index, TestRequest.get("//%61dmin;x=1/../admin/x"))).containsExactly(0);
        assertThat(candidates(index, TestRequest.get("/ADMIN"))).isEmpty();
    }

    @Test
    void wildcardsNeedSomethingBeforeTheDomain() {
        RuleIndex index = index(Acl.hostWildcard("*.example.com"), Acl.hostEnds("example.com"));
        assertThat(candidates(index, TestRequest.get("/").host("example.com"))).containsExactly(1);
        assertThat(candidates(index, TestRequest.get("/").host("A.Example.com:8443"))).containsExactly(0, 1);
        assertThat(candidates(index, TestRequest.get("/"))).isEmpty();
    }

    @Test
    void headerGuardsByPresenceAndByExactValue() {
        RuleIndex index = index(
                Acl.header("X-T", "a", "b"),
                Acl.headerIgnoreCase("X-T", "C"),
                Acl.headerRegex("x-t", "^z"),
                Acl.headerExists("x-t"),
                Acl.or(Acl.header("X-T", "q"), Acl.headerExists("X-T")));
        assertThat(index.families()).isEqualTo(1);
        assertThat(candidates(index, TestRequest.get("/").header("X-T", "b"))).containsExactly(0, 1, 2, 3, 4);
        assertThat(candidates(index, TestRequest.get("/").header("X-T", "c"))).containsExactly(1, 2, 3, 4);
        assertThat(candidates(index, TestRequest.get("/").header("X-U", "a"))).isEmpty();
    }

    @Test
    void tablesLongerThanOneWordOfBits() {
        Acl[] conditions = new Acl[200];
        for (int i = 0; i < conditions.length; i++) {
            conditions[i] = i % 50 == 7 ? Acl.source("10.0.0.0/8") : Acl.pathBegins("/p" + i);
        }
        RuleIndex index = index(conditions);
        assertThat(candidates(index, TestRequest.get("/p150/x"))).containsExactly(1, 7, 15, 57, 107, 150, 157);
        assertThat(candidates(index, TestRequest.get("/p199"))).containsExactly(1, 7, 19, 57, 107, 157, 199);
    }

    @Test
    void withoutAnyGuardTheIndexIsLinearAndNeedsNoScratch() {
        RuleIndex index = index(Acl.source("10.0.0.0/8"), Acl.random(0.1), v -> false);
        assertThat(index.needsScratch()).isFalse();
        List<Integer> seen = new ArrayList<>();
        for (int i = index.first(TestRequest.get("/"), null); i >= 0; i = index.next(i, TestRequest.get("/"), null)) {
            seen.add(i);
        }
        assertThat(seen).containsExactly(0, 1, 2);
        assertThat(RuleIndex.linear(0).first(TestRequest.get("/"), null)).isEqualTo(-1);
    }

    @Test
    void aNestedWalkOnTheSameThreadGetsItsOwnScratch() {
        RuleIndex.Scratch outer = RuleIndex.acquire();
        try {
            RuleIndex.Scratch inner = RuleIndex.acquire();
            assertThat(inner).isNotSameAs(outer);
            RuleIndex.release(inner);
        } finally {
            RuleIndex.release(outer);
        }
        RuleIndex.Scratch again = RuleIndex.acquire();
        RuleIndex.release(again);
        assertThat(again).isSameAs(outer);
    }
}
