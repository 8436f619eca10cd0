package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What the admin endpoint writes of names and health check details cannot break its HTML or JSON. */
class AdminEscapingTest {

    @Test
    void escapesHtml() {
        StringBuilder sb = new StringBuilder();
        StatsPage.html(sb, "<script>alert('x')</script> & \"q\"");
        assertThat(sb).hasToString("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
    }

    @Test
    void escapesJsonStrings() {
        StringBuilder sb = new StringBuilder();
        AdminJson.string(sb, "a\"b\\c\nd\u0001</script>\u2028");
        assertThat(sb).hasToString("\"a\\\"b\\\\c\\nd\\u0001\\u003c/script\\u003e\\u2028\"");
        StringBuilder none = new StringBuilder();
        AdminJson.string(none, null);
        assertThat(none).hasToString("null");
    }
}
