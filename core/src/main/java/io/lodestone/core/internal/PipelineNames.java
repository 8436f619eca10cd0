package io.lodestone.core.internal;

/**
 * The names of the handlers Lodestone puts in channel pipelines, and their order, in one place.
 *
 * <p>L4 client channel: {@link #IDLE} → {@link #RELAY}.
 * <br>L4 server channel: {@link #PROXY_PROTOCOL} (removed once the header is written) → {@link #IDLE}
 * → {@link #RELAY}.
 */
public final class PipelineNames {

    /** Closes the connection pair when a side is idle too long. */
    public static final String IDLE = "lodestone.idle";
    /** Copies bytes to the peer channel with backpressure and half-close. */
    public static final String RELAY = "lodestone.relay";
    /** Writes the PROXY protocol header before the first relayed byte. */
    public static final String PROXY_PROTOCOL = "lodestone.proxy-protocol";

    private PipelineNames() {
    }
}
