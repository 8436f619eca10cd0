package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.internal.PipelineNames;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpRequestDecoder;
import org.junit.jupiter.api.Test;

/** What stays in a connection's pipeline when it becomes a tunnel. */
class TunnelPipelineTest {

    @Test
    void aClientConnectionKeepsItsCloseGuardAndTheProxyHandler() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast(PipelineNames.CLOSE_GUARD, new ChannelInboundHandlerAdapter());
        ch.pipeline().addLast(PipelineNames.HTTP_DECODER, new HttpRequestDecoder());
        ch.pipeline().addLast(PipelineNames.HTTP_ENCODER, new HttpResponseEncoder());
        ch.pipeline().addLast(PipelineNames.HTTP_PROXY, new ChannelInboundHandlerAdapter());
        HttpPipeline.stripClient(ch.pipeline());
        assertThat(ch.pipeline().names()).startsWith(PipelineNames.CLOSE_GUARD, PipelineNames.HTTP_PROXY)
                .doesNotContain(PipelineNames.HTTP_DECODER, PipelineNames.HTTP_ENCODER);
        ch.finishAndReleaseAll();
    }

    @Test
    void aServerConnectionKeepsItsCloseGuardAndItsLastHandler() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast(PipelineNames.CLOSE_GUARD, new ChannelInboundHandlerAdapter());
        ch.pipeline().addLast(PipelineNames.HTTP_ENCODER, new HttpRequestEncoder());
        ch.pipeline().addLast(PipelineNames.HTTP_DECODER, new HttpResponseDecoder());
        ch.pipeline().addLast(PipelineNames.HTTP_BACKEND, new ChannelInboundHandlerAdapter());
        HttpPipeline.stripServer(ch.pipeline());
        assertThat(ch.pipeline().names()).startsWith(PipelineNames.CLOSE_GUARD, PipelineNames.HTTP_BACKEND)
                .doesNotContain(PipelineNames.HTTP_DECODER, PipelineNames.HTTP_ENCODER);
        ch.finishAndReleaseAll();
    }
}
