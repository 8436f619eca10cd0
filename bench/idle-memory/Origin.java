// Part of bench/idle-memory: a test origin for the idle-connection memory measurement.
import java.io.*; import java.net.*; import java.nio.charset.StandardCharsets;
/** Origin: HTTP/1.1 keep-alive, answers each request after DELAY ms (0 = at once); tcp mode: holds connection, echoes. */
public class Origin {
  public static void main(String[] a) throws Exception {
    int port = Integer.parseInt(a[0]); long delay = Long.parseLong(a[1]);
    ServerSocket ss = new ServerSocket(); ss.setReuseAddress(true); ss.bind(new InetSocketAddress("127.0.0.1", port), 20000);
    byte[] resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII);
    while (true) { Socket s = ss.accept();
      Thread t = new Thread(null, () -> { try (s) { InputStream in = new BufferedInputStream(s.getInputStream()); OutputStream out = s.getOutputStream();
          int state = 0; int c;
          while ((c = in.read()) >= 0) { // find \r\n\r\n
            state = (c == '\r') ? (state == 0 || state == 2 ? state + 1 : 1) : (c == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) { state = 0; if (delay > 0) Thread.sleep(delay); out.write(resp); out.flush(); } }
        } catch (Exception e) {} }, "c", 64 * 1024);
      t.setDaemon(true); t.start(); }
  }
}
