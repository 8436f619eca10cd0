package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogThrottleTest {

    @Test
    void letsOneLineThroughPerIntervalFromTheFirst() {
        LogThrottle throttle = new LogThrottle(10);
        assertThat(throttle.tryAcquire(-5)).as("the first line, whatever the clock reads").isTrue();
        assertThat(throttle.tryAcquire(-5)).isFalse();
        assertThat(throttle.tryAcquire(4)).as("1 ns before the interval").isFalse();
        assertThat(throttle.tryAcquire(5)).as("at the interval").isTrue();
        assertThat(throttle.tryAcquire(14)).isFalse();
        assertThat(throttle.tryAcquire(100)).isTrue();
    }
}
