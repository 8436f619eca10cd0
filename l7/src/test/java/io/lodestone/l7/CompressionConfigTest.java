package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@link Compression} configuration: defaults, checks naming field and value, content-type matching. */
class CompressionConfigTest {

    @Test
    void defaults() {
        Compression c = Compression.defaults();
        assertThat(c.contentTypes()).isEqualTo(Compression.DEFAULT_CONTENT_TYPES).contains("text/*", "application/json");
        assertThat(c.minSize()).isEqualTo(1024);
        assertThat(c.level()).isEqualTo(6);
        assertThat(c.brotli()).isTrue();
        assertThat(Compression.builder().build().toString()).isEqualTo(c.toString());
        assertThat(HttpFrontend.bind(0).defaultBackend("app").build().compression()).isNull();
        assertThat(HttpFrontend.bind(0).compression(c).defaultBackend("app").build().compression()).isSameAs(c);
    }

    @Test
    void settersCheckTheirArgumentAndNameFieldAndValue() {
        assertThatThrownBy(() -> Compression.builder().level(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("compression level: 0 (expected: 1..9)");
        assertThatThrownBy(() -> Compression.builder().level(10)).hasMessage("compression level: 10 (expected: 1..9)");
        assertThatThrownBy(() -> Compression.builder().minSize(-1)).hasMessage("compression minSize: -1 (expected: >= 0)");
        for (String bad : new String[] {"html", "text/", "/html", "*/*", "text/ht ml", "text/h*", "a/b/c", ""}) {
            assertThatThrownBy(() -> Compression.builder().contentTypes("text/html", bad))
                    .as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("compression contentTypes: " + bad + " (expected: a media type");
        }
        assertThatThrownBy(() -> Compression.builder().contentTypes((String) null))
                .hasMessageStartingWith("compression contentTypes: null (expected:");
        assertThatThrownBy(() -> HttpFrontend.bind(0).compression(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("frontend at 0.0.0.0:0 compression");
    }

    @Test
    void buildChecksTheWholeAndLeavesTheBuilderUsable() {
        Compression.Builder b = Compression.builder().contentTypes(List.of());
        assertThatThrownBy(b::build).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("compression contentTypes: [] (expected: at least one media type, such as text/html)");
        Compression one = b.contentTypes("Text/HTML").minSize(0).level(9).brotli(false).build();
        Compression two = b.level(1).build();
        assertThat(one.contentTypes()).containsExactly("text/html");
        assertThat(one.level()).isEqualTo(9);
        assertThat(two.level()).isEqualTo(1);
        assertThat(one.minSize()).isZero();
        assertThat(one.brotli()).isFalse();
        assertThat(one.toString()).contains("brotli=off");
        assertThatThrownBy(() -> one.contentTypes().add("x/y")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void contentTypesMatchTheMediaTypeIgnoringCaseAndParameters() {
        Compression c = Compression.builder().contentTypes("text/*", "application/json").build();
        assertThat(c.compresses("text/html")).isTrue();
        assertThat(c.compresses("TEXT/CSS; charset=utf-8")).isTrue();
        assertThat(c.compresses("  application/json ;charset=utf-8")).isTrue();
        assertThat(c.compresses("application/json-seq")).isFalse();
        assertThat(c.compresses("application/jso")).isFalse();
        assertThat(c.compresses("text/")).isFalse();
        assertThat(c.compresses("textual/html")).isFalse();
        assertThat(c.compresses("image/png")).isFalse();
        assertThat(c.compresses("")).isFalse();
        assertThat(c.compresses(null)).isFalse();
    }
}
