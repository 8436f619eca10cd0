// Part of bench/idle-memory: the clients of the idle-connection memory measurement.
import java.io.*; import java.net.*; import java.nio.*; import java.nio.channels.*; import java.nio.charset.StandardCharsets; import java.util.*;
/** Clients MODE HOST PORT N : opens N connections, one request each (h1|h2|tcp|h1par), waits for responses, then holds until stdin line, then closes. */
public class Clients {
  public static void main(String[] a) throws Exception {
    String mode = a[0]; String host = a[1]; int port = Integer.parseInt(a[2]); int n = Integer.parseInt(a[3]);
    List<SocketChannel> chs = new ArrayList<>();
    byte[] h1 = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h2 = new ByteArrayOutputStream();
    h2.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    h2.write(new byte[]{0,0,0, 4, 0, 0,0,0,0}); // SETTINGS empty
    byte[] hp = {(byte)0x82, (byte)0x86, (byte)0x84, 0x41, 9, 'l','o','c','a','l','h','o','s','t'};
    h2.write(new byte[]{0,0,(byte)hp.length, 1, 5, 0,0,0,1}); h2.write(hp);
    byte[] h2b = h2.toByteArray();
    byte[] req = mode.startsWith("h1") ? h1 : mode.equals("h2") ? h2b : new byte[]{'x'};
    for (int i = 0; i < n; i++) {
      SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port)); chs.add(ch);
      ch.write(ByteBuffer.wrap(req));
      if (!mode.equals("h1par")) readResponse(ch, mode);
    }
    if (mode.equals("h1par")) for (SocketChannel ch : chs) readResponse(ch, "h1");
    System.out.println("READY " + chs.size()); System.out.flush();
    new BufferedReader(new InputStreamReader(System.in)).readLine();
    for (SocketChannel ch : chs) ch.close();
    System.out.println("CLOSED"); System.out.flush();
  }
  static void readResponse(SocketChannel ch, String mode) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(65536);
    if (mode.equals("tcp")) { return; }
    if (mode.equals("h1")) { // until "hello"
      while (true) { if (ch.read(b) < 0) throw new EOFException(); String s = new String(b.array(), 0, b.position(), StandardCharsets.ISO_8859_1); if (s.endsWith("hello")) return; }
    }
    boolean ackSent = false;
    while (true) { // h2 frames until END_STREAM on stream 1
      if (ch.read(b) < 0) throw new EOFException();
      b.flip();
      while (b.remaining() >= 9) { int len = ((b.get(b.position()) & 0xff) << 16) | ((b.get(b.position()+1) & 0xff) << 8) | (b.get(b.position()+2) & 0xff);
        if (b.remaining() < 9 + len) break; int type = b.get(b.position()+3); int flags = b.get(b.position()+4); int sid = b.getInt(b.position()+5) & 0x7fffffff;
        b.position(b.position() + 9 + len);
        if (type == 4 && (flags & 1) == 0 && !ackSent) { ch.write(ByteBuffer.wrap(new byte[]{0,0,0,4,1,0,0,0,0})); ackSent = true; }
        if (sid == 1 && (flags & 1) != 0 && (type == 0 || type == 1)) { return; } }
      b.compact(); }
  }
}
