package io.lodestone.core.metrics.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.ResponseCounts;
import io.lodestone.core.metrics.TrafficSnapshot;
import org.junit.jupiter.api.Test;

class MetricsTrafficTest {

    @Test
    void serverTrafficRollsUpIntoItsBackend() {
        BackendMetrics backend = new BackendMetrics("app");
        ServerMetrics web1 = new ServerMetrics(backend, "web1");
        ServerMetrics web2 = new ServerMetrics(backend, "web2");

        web1.connectionOpened();
        web1.connectTime(2_000_000);
        web1.firstByteTime(5_000_000);
        web1.requestCompleted(200, 100, 1000, 7_000_000);
        web2.connectionOpened();
        web2.requestCompleted(503, 50, 20, 1_000_000);
        web2.connectionClosed();
        backend.error(ErrorKind.CONNECT);   // no server reached
        backend.requestCompleted(503, 40, 0, 0);

        TrafficSnapshot w1 = web1.snapshot();
        assertThat(w1.currentConnections()).isEqualTo(1);
        assertThat(w1.requests()).isEqualTo(1);
        assertThat(w1.responses()).isEqualTo(new ResponseCounts(0, 1, 0, 0, 0, 0));
        assertThat(w1.connectTime().p50Nanos()).isEqualTo(2_000_000);
        assertThat(w1.firstByteTime().p50Nanos()).isEqualTo(5_000_000);

        TrafficSnapshot b = backend.snapshot();
        assertThat(b.currentConnections()).isEqualTo(1);
        assertThat(b.totalConnections()).isEqualTo(2);
        assertThat(b.requests()).isEqualTo(3);
        assertThat(b.responses()).isEqualTo(new ResponseCounts(0, 1, 0, 0, 2, 0));
        assertThat(b.bytesIn()).isEqualTo(190);
        assertThat(b.bytesOut()).isEqualTo(1020);
        assertThat(b.errors()).isEqualTo(new ErrorCounts(1, 0, 0, 0));
        assertThat(b.connectTime().count()).isEqualTo(1);
        assertThat(b.totalTime().count()).isEqualTo(3);
        assertThat(web2.snapshot().errors().total()).isZero();
    }

    @Test
    void statusesAreCountedByClassAndNoResponseCountsTheRequestOnly() {
        FrontendMetrics f = new FrontendMetrics("web");
        int[] statuses = {101, 200, 204, 301, 404, 429, 500, 502, 504, 99, 600, 0, -1};
        for (int status : statuses) {
            f.requestCompleted(status, 1, 2, 1000);
        }
        TrafficSnapshot s = f.snapshot();
        assertThat(s.requests()).isEqualTo(statuses.length);
        assertThat(s.responses()).isEqualTo(new ResponseCounts(1, 2, 1, 2, 3, 2));
        assertThat(s.responses().total()).isEqualTo(statuses.length - 2);
        assertThat(ResponseCounts.classOf(599)).isEqualTo(4);
        assertThat(ResponseCounts.classOf(1000)).isEqualTo(5);
        assertThat(ResponseCounts.label(5)).isEqualTo("other");
    }

    @Test
    void tcpSessionsQueuesRetriesAndErrors() {
        BackendMetrics backend = new BackendMetrics("db");
        ServerMetrics server = new ServerMetrics(backend, "pg1");
        server.enqueued();
        server.enqueued();
        server.dequeued();
        server.retry();
        server.redispatch();
        server.error(ErrorKind.TIMEOUT);
        server.error(ErrorKind.RESET);
        server.error(ErrorKind.DENIED);
        server.connectionOpened();
        server.bytes(10, 20);
        server.sessionClosed(90, 180, 3_000_000_000L);

        TrafficSnapshot s = backend.snapshot();
        assertThat(s.currentQueue()).isEqualTo(1);
        assertThat(s.retries()).isEqualTo(1);
        assertThat(s.redispatches()).isEqualTo(1);
        assertThat(s.errors()).isEqualTo(new ErrorCounts(0, 1, 1, 1));
        assertThat(s.errors().get(ErrorKind.DENIED)).isEqualTo(1);
        assertThat(s.currentConnections()).isZero();
        assertThat(s.totalConnections()).isEqualTo(1);
        assertThat(s.requests()).isZero();
        assertThat(s.bytesIn()).isEqualTo(100);
        assertThat(s.bytesOut()).isEqualTo(200);
        assertThat(s.totalTime().maxNanos()).isEqualTo(3_000_000_000L);
        assertThat(server.errors(ErrorKind.TIMEOUT)).isEqualTo(1);
    }
}
