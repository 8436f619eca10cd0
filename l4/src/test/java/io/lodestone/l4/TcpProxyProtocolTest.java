package io.lodestone.l4;

import static io.lodestone.l4.Sockets.assertEcho;
import static io.lodestone.l4.Sockets.connect;
import static io.lodestone.l4.Sockets.startProxy;
import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.testing.TcpEchoServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The PROXY protocol header as a server receives it, decoded by netty-codec-haproxy. */
class TcpProxyProtocolTest {

    private static EventLoopGroup group;

    @BeforeAll
    static void startGroup() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void stopGroup() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** What a server saw in one PROXY header. */
    record Header(HAProxyProtocolVersion version, String source, int sourcePort, String destination, int destinationPort) {
    }

    /** Starts an echo server on {@code group} that expects a PROXY header first and records it (also for TcpAcceptProxyProtocolTest). */
    static Channel proxyProtocolServer(EventLoopGroup group, BlockingQueue<Header> headers) {
        return new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HAProxyMessageDecoder(), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof HAProxyMessage m) {
                                    headers.add(new Header(m.protocolVersion(), m.sourceAddress(), m.sourcePort(),
                                            m.destinationAddress(), m.destinationPort()));
                                    m.release();
                                } else if (msg instanceof ByteBuf buf) {
                                    ctx.writeAndFlush(buf);
                                }
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .syncUninterruptibly()
                .channel();
    }

    private static String address(Channel server) {
        return "127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    private static Header exchange(Backend.Builder backend, BlockingQueue<Header> headers, int[] ports) throws Exception {
        try (Proxy proxy = startProxy(backend, TcpFrontend.bind("127.0.0.1:0").defaultBackend(backend.build().name()));
             Socket c = connect(proxy.port())) {
            assertEcho(c, "after the header");
            ports[0] = c.getLocalPort();
            ports[1] = proxy.port();
            return headers.poll(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void sendsVersion1PerBackend() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        Channel server = proxyProtocolServer(group, headers);
        try {
            int[] ports = new int[2];
            Header h = exchange(Backend.named("pp").server("s1", address(server)).proxyProtocol(ProxyProtocol.V1), headers, ports);
            assertThat(h).isEqualTo(new Header(HAProxyProtocolVersion.V1, "127.0.0.1", ports[0], "127.0.0.1", ports[1]));
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void sendsVersion2PerBackend() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        Channel server = proxyProtocolServer(group, headers);
        try {
            int[] ports = new int[2];
            Header h = exchange(Backend.named("pp").server("s1", address(server)).proxyProtocol(ProxyProtocol.V2), headers, ports);
            assertThat(h).isEqualTo(new Header(HAProxyProtocolVersion.V2, "127.0.0.1", ports[0], "127.0.0.1", ports[1]));
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void aServerSettingOverridesItsBackend() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        Channel server = proxyProtocolServer(group, headers);
        try {
            int[] ports = new int[2];
            Header h = exchange(Backend.named("pp")
                    .server("s1", address(server), s -> s.proxyProtocol(ProxyProtocol.V2))
                    .proxyProtocol(ProxyProtocol.V1), headers, ports);
            assertThat(h).isEqualTo(new Header(HAProxyProtocolVersion.V2, "127.0.0.1", ports[0], "127.0.0.1", ports[1]));
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    @Test
    void aServerCanOptOutOfItsBackendsHeader() throws IOException {
        try (TcpEchoServer echo = TcpEchoServer.start();
             Proxy proxy = startProxy(Backend.named("pp")
                             .server("plain", echo.address(), s -> s.proxyProtocol(ProxyProtocol.NONE))
                             .proxyProtocol(ProxyProtocol.V2),
                     TcpFrontend.bind("127.0.0.1:0").defaultBackend("pp"));
             Socket c = connect(proxy.port())) {
            // an echo server would send back any header before the payload
            assertEcho(c, "no header in front");
        }
    }

    /**
     * A client on the IPv6 loopback: the version 1 line carries the addresses in the RFC 5952 form
     * HAProxy writes ({@code ::1}), not the JDK's full form ({@code 0:0:0:0:0:0:0:1}).
     */
    @Test
    void version1WritesIpv6AddressesInTheirShortForm() throws Exception {
        CompletableFuture<String> line = new CompletableFuture<>();
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread reader = new Thread(() -> readFirstLine(server, line), "proxy-line-reader");
            reader.setDaemon(true);
            reader.start();
            try (Proxy proxy = startProxy(Backend.named("pp").server("s1", "127.0.0.1:" + server.getLocalPort())
                            .proxyProtocol(ProxyProtocol.V1), TcpFrontend.bind("[::1]:0").defaultBackend("pp"));
                 Socket c = new Socket(InetAddress.getByName("::1"), proxy.port())) {
                assertThat(line.get(5, TimeUnit.SECONDS))
                        .isEqualTo("PROXY TCP6 ::1 ::1 " + c.getLocalPort() + " " + proxy.port() + "\r\n");
            }
        }
    }

    /** Version 2 carries the same IPv6 addresses as bytes, unchanged by the text form. */
    @Test
    void version2CarriesIpv6Addresses() throws Exception {
        BlockingQueue<Header> headers = new LinkedBlockingQueue<>();
        Channel server = proxyProtocolServer(group, headers);
        try (Proxy proxy = startProxy(Backend.named("pp").server("s1", address(server)).proxyProtocol(ProxyProtocol.V2),
                TcpFrontend.bind("[::1]:0").defaultBackend("pp"));
             Socket c = new Socket(InetAddress.getByName("::1"), proxy.port())) {
            c.setSoTimeout(5000);
            assertEcho(c, "after the header");
            Header h = headers.poll(5, TimeUnit.SECONDS);
            assertThat(h).isNotNull();
            assertThat(h.version()).isEqualTo(HAProxyProtocolVersion.V2);
            assertThat(InetAddress.getByName(h.source())).isEqualTo(InetAddress.getByName("::1"));
            assertThat(InetAddress.getByName(h.destination())).isEqualTo(InetAddress.getByName("::1"));
            assertThat(h.sourcePort()).isEqualTo(c.getLocalPort());
            assertThat(h.destinationPort()).isEqualTo(proxy.port());
        } finally {
            server.close().syncUninterruptibly();
        }
    }

    /** Accepts one connection and completes {@code line} with what it sent up to and including the first CRLF. */
    private static void readFirstLine(ServerSocket server, CompletableFuture<String> line) {
        try (Socket s = server.accept()) {
            InputStream in = s.getInputStream();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            int previous = -1;
            int b;
            while ((b = in.read()) >= 0) {
                bytes.write(b);
                if (previous == '\r' && b == '\n') {
                    break;
                }
                previous = b;
            }
            line.complete(bytes.toString(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            line.completeExceptionally(e);
        }
    }
}
