package io.lodestone.tls.internal;

import io.lodestone.tls.ClientHello;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the server name and ALPN protocols from a TLS ClientHello at the start of a buffer, without
 * moving its reader index. The handshake message may be split over several TLS records and the
 * records over several reads: {@link #parse} returns {@code null} until the buffer holds the whole
 * message. Anything that is not a well-formed ClientHello, or one longer than the bound, is refused
 * with {@link NotAClientHelloException}.
 */
public final class ClientHelloParser {

    private static final int RECORD_HEADER = 5;
    private static final int HANDSHAKE_HEADER = 4;
    private static final int CONTENT_HANDSHAKE = 22;
    private static final int CLIENT_HELLO = 1;
    private static final int MAX_RECORD = 16384;
    private static final int EXT_SERVER_NAME = 0;
    private static final int EXT_ALPN = 16;

    private ClientHelloParser() {
    }

    /** Why the first bytes of a connection are not a usable ClientHello. */
    public static final class NotAClientHelloException extends Exception {
        private static final long serialVersionUID = 1L;

        NotAClientHelloException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Parses the ClientHello at {@code in}'s reader index.
     *
     * @param maxBytes the most bytes (records and headers included) the ClientHello may take
     * @return the ClientHello, or {@code null} when more bytes are needed
     */
    public static ClientHello parse(ByteBuf in, int maxBytes) throws NotAClientHelloException {
        final int start = in.readerIndex();
        final int end = in.writerIndex();
        int pos = start;
        // first pass: find how many handshake bytes are present and where
        int handshakeAvailable = 0;
        int firstFragmentStart = -1;
        int firstFragmentLength = 0;
        int messageLength = -1;
        while (true) {
            int avail = end - pos;
            if (avail >= 1 && in.getUnsignedByte(pos) != CONTENT_HANDSHAKE) {
                int type = in.getUnsignedByte(pos);
                throw new NotAClientHelloException(pos == start
                        ? "not a TLS handshake (first byte 0x" + Integer.toHexString(type) + ")"
                        : "unexpected TLS record type " + type + " inside the ClientHello");
            }
            if (avail >= 2 && in.getUnsignedByte(pos + 1) != 3) {
                throw new NotAClientHelloException("unsupported TLS record version " + in.getUnsignedByte(pos + 1));
            }
            if (avail < RECORD_HEADER) {
                return needMore(start, end, maxBytes);
            }
            int recordLength = in.getUnsignedShort(pos + 3);
            if (recordLength == 0 || recordLength > MAX_RECORD) {
                throw new NotAClientHelloException("bad TLS record length " + recordLength);
            }
            int payload = pos + RECORD_HEADER;
            int present = Math.min(recordLength, end - payload);
            if (firstFragmentStart < 0) {
                firstFragmentStart = payload;
                firstFragmentLength = present;
            }
            handshakeAvailable += present;
            if (messageLength < 0 && handshakeAvailable >= HANDSHAKE_HEADER) {
                int typeAt = virtualIndex(in, start, 0);
                if (in.getUnsignedByte(typeAt) != CLIENT_HELLO) {
                    throw new NotAClientHelloException("not a ClientHello (handshake type "
                            + in.getUnsignedByte(typeAt) + ")");
                }
                messageLength = HANDSHAKE_HEADER + ((virtualByte(in, start, 1) << 16)
                        | (virtualByte(in, start, 2) << 8) | virtualByte(in, start, 3));
                if (messageLength > maxBytes) {
                    throw new NotAClientHelloException("ClientHello of " + messageLength
                            + " bytes exceeds the bound of " + maxBytes);
                }
            }
            if (messageLength >= 0 && handshakeAvailable >= messageLength) {
                break;
            }
            if (present < recordLength) {
                return needMore(start, end, maxBytes);
            }
            pos = payload + recordLength;
        }
        if (firstFragmentLength >= messageLength) {
            return parseBody(in, firstFragmentStart + HANDSHAKE_HEADER, firstFragmentStart + messageLength);
        }
        byte[] message = new byte[messageLength];
        int copied = 0;
        int p = start;
        while (copied < messageLength) {
            int recordLength = in.getUnsignedShort(p + 3);
            int n = Math.min(recordLength, messageLength - copied);
            in.getBytes(p + RECORD_HEADER, message, copied, n);
            copied += n;
            p += RECORD_HEADER + recordLength;
        }
        ByteBuf copy = io.netty.buffer.Unpooled.wrappedBuffer(message);
        try {
            return parseBody(copy, HANDSHAKE_HEADER, messageLength);
        } finally {
            copy.release();
        }
    }

    private static ClientHello needMore(int start, int end, int maxBytes) throws NotAClientHelloException {
        if (end - start >= maxBytes) {
            throw new NotAClientHelloException("no complete ClientHello within " + maxBytes + " bytes");
        }
        return null;
    }

    /** The buffer index of the {@code n}-th handshake byte, walking the (complete) record headers. */
    private static int virtualIndex(ByteBuf in, int start, int n) {
        int p = start;
        while (true) {
            int len = in.getUnsignedShort(p + 3);
            if (n < len) {
                return p + RECORD_HEADER + n;
            }
            n -= len;
            p += RECORD_HEADER + len;
        }
    }

    private static int virtualByte(ByteBuf in, int start, int n) {
        return in.getUnsignedByte(virtualIndex(in, start, n));
    }

    private static ClientHello parseBody(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        pos = skip(pos, end, 2 + 32, "version and random");
        int sessionIdLength = u8(b, pos, end);
        if (sessionIdLength > 32) {
            throw new NotAClientHelloException("session id of " + sessionIdLength + " bytes");
        }
        pos = skip(pos + 1, end, sessionIdLength, "session id");
        int cipherLength = u16(b, pos, end);
        if (cipherLength < 2 || (cipherLength & 1) != 0) {
            throw new NotAClientHelloException("bad cipher suites length " + cipherLength);
        }
        pos = skip(pos + 2, end, cipherLength, "cipher suites");
        int compressionLength = u8(b, pos, end);
        if (compressionLength < 1) {
            throw new NotAClientHelloException("no compression methods");
        }
        pos = skip(pos + 1, end, compressionLength, "compression methods");
        if (pos == end) {
            return ClientHello.of(null, List.of());
        }
        int extensionsLength = u16(b, pos, end);
        pos += 2;
        if (pos + extensionsLength != end) {
            throw new NotAClientHelloException("extensions length " + extensionsLength + " does not fill the message");
        }
        String serverName = null;
        List<String> alpn = null;
        while (pos < end) {
            int type = u16(b, pos, end);
            int length = u16(b, pos + 2, end);
            int body = pos + 4;
            int bodyEnd = skip(body, end, length, "extension " + type);
            if (type == EXT_SERVER_NAME) {
                if (serverName != null) {
                    throw new NotAClientHelloException("duplicate server_name extension");
                }
                serverName = serverName(b, body, bodyEnd);
            } else if (type == EXT_ALPN) {
                if (alpn != null) {
                    throw new NotAClientHelloException("duplicate ALPN extension");
                }
                alpn = alpn(b, body, bodyEnd);
            }
            pos = bodyEnd;
        }
        return ClientHello.of(serverName == null || serverName.isEmpty() ? null : serverName,
                alpn == null ? List.of() : alpn);
    }

    private static String serverName(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        if (pos == end) {
            // a server echoes an empty server_name; a client may send it empty too: no name
            return "";
        }
        int listLength = u16(b, pos, end);
        pos += 2;
        if (pos + listLength != end || listLength == 0) {
            throw new NotAClientHelloException("bad server_name list length " + listLength);
        }
        String hostName = null;
        while (pos < end) {
            int nameType = u8(b, pos, end);
            int nameLength = u16(b, pos + 1, end);
            int name = pos + 3;
            int nameEnd = skip(name, end, nameLength, "server name");
            if (nameType == 0) {
                if (hostName != null) {
                    throw new NotAClientHelloException("more than one host_name in server_name");
                }
                hostName = hostName(b, name, nameEnd);
            }
            pos = nameEnd;
        }
        return hostName == null ? "" : hostName;
    }

    private static String hostName(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        int n = end - pos;
        if (n == 0 || n > 255) {
            throw new NotAClientHelloException("host_name of " + n + " bytes");
        }
        char[] chars = new char[n];
        for (int i = 0; i < n; i++) {
            int c = b.getUnsignedByte(pos + i);
            if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            } else if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')) {
                throw new NotAClientHelloException("host_name with byte 0x" + Integer.toHexString(c));
            }
            chars[i] = (char) c;
        }
        if (chars[0] == '.') {
            throw new NotAClientHelloException("host_name starting with a dot");
        }
        return new String(chars, 0, chars[n - 1] == '.' && n > 1 ? n - 1 : n);
    }

    private static List<String> alpn(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        int listLength = u16(b, pos, end);
        pos += 2;
        if (pos + listLength != end || listLength < 2) {
            throw new NotAClientHelloException("bad ALPN list length " + listLength);
        }
        List<String> out = new ArrayList<>(4);
        while (pos < end) {
            int n = u8(b, pos, end);
            if (n == 0) {
                throw new NotAClientHelloException("empty ALPN protocol name");
            }
            int nameEnd = skip(pos + 1, end, n, "ALPN protocol name");
            out.add(b.toString(pos + 1, n, StandardCharsets.ISO_8859_1));
            pos = nameEnd;
        }
        return out;
    }

    private static int skip(int pos, int end, int n, String what) throws NotAClientHelloException {
        if (n > end - pos) {
            throw new NotAClientHelloException("truncated " + what);
        }
        return pos + n;
    }

    private static int u8(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        if (pos + 1 > end) {
            throw new NotAClientHelloException("truncated ClientHello");
        }
        return b.getUnsignedByte(pos);
    }

    private static int u16(ByteBuf b, int pos, int end) throws NotAClientHelloException {
        if (pos + 2 > end) {
            throw new NotAClientHelloException("truncated ClientHello");
        }
        return b.getUnsignedShort(pos);
    }
}
