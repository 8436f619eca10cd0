package io.lodestone.l7;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ServerState;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The stats page rendered by a real headless Chromium (Debian's {@code chromium}, installed when
 * absent): the DOM holds every server with its state, and a screenshot shows the state colours.
 * The browser sends the token as the password of HTTP Basic authentication, as a person would.
 */
class StatsPageBrowserTest {

    private static final String TOKEN = "browser-token-1";
    /** Where the screenshot stays after the build, for a person to look at. */
    static final Path SCREENSHOT = Path.of("target", "stats-page.png");

    private static Proxy proxy;
    private static String url;

    @BeforeAll
    static void start() {
        proxy = Proxy.builder()
                .backend(Backend.named("app")
                        .server("web1", "127.0.0.1:1", s -> s.weight(80))
                        .server("web2", "127.0.0.1:2", s -> s.weight(20))
                        .server("web3", "127.0.0.1:3")
                        .server("web4", "127.0.0.1:4")
                        .server("spare", "127.0.0.1:5", s -> s.backup()))
                .backend(Backend.named("api").server("api1", "127.0.0.1:6"))
                .frontend(HttpFrontend.bind("127.0.0.1:0").name("www").defaultBackend("app"))
                .frontend(AdminFrontend.bind(0).token(TOKEN).build())
                .build();
        proxy.start();
        proxy.control().server("app", "web2").state(ServerState.DOWN);
        proxy.control().server("app", "web3").drain();
        proxy.control().server("app", "web4").maintenance();
        url = "http://admin:" + TOKEN + "@127.0.0.1:" + proxy.port("admin") + "/stats";
    }

    @AfterAll
    static void stop() {
        proxy.close();
    }

    @Test
    void theRenderedDomShowsEveryServerWithItsState() throws Exception {
        String dom = Chromium.dumpDom(url);
        assertThat(dom).contains("<title>Lodestone statistics</title>", "Frontend www", "Backend app", "Backend api");
        assertThat(dom).contains("<tr class=\"UP\" data-server=\"web1\">", "<tr class=\"DOWN\" data-server=\"web2\">",
                "<tr class=\"DRAIN\" data-server=\"web3\">", "<tr class=\"MAINT\" data-server=\"web4\">",
                "<tr class=\"UP\" data-server=\"api1\">", "spare (backup)");
    }

    @Test
    void theScreenshotShowsTheStateColours() throws Exception {
        Chromium.screenshot(url, SCREENSHOT, 1280, 900);
        BufferedImage image = ImageIO.read(SCREENSHOT.toFile());
        assertThat(image).isNotNull();
        assertThat(image.getWidth()).isEqualTo(1280);
        assertThat(image.getHeight()).isEqualTo(900);
        Set<Integer> colours = new HashSet<>();
        boolean green = false;
        boolean red = false;
        for (int y = 0; y < image.getHeight(); y += 2) {
            for (int x = 0; x < image.getWidth(); x += 2) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                green |= near(rgb, 0x80e080);
                red |= near(rgb, 0xf08080);
            }
        }
        assertThat(colours.size()).as("distinct colours in the screenshot").isGreaterThan(8);
        assertThat(green).as("the UP green is on the page").isTrue();
        assertThat(red).as("the DOWN red is on the page").isTrue();
    }

    private static boolean near(int rgb, int target) {
        for (int shift = 0; shift <= 16; shift += 8) {
            if (Math.abs((rgb >> shift & 0xFF) - (target >> shift & 0xFF)) > 4) {
                return false;
            }
        }
        return true;
    }
}
