package io.lodestone.tls.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Tells whether a set of small files (certificates, keys) changed since the last look, by content:
 * modification times are too coarse on some file systems to catch a quick rewrite. Not thread-safe;
 * the owner serialises calls.
 */
public final class FileWatcher {

    private final List<Path> files;
    private byte[][] last;

    /** Watches {@code files}; the first {@link #changed()} compares against their content now. */
    public FileWatcher(List<Path> files) {
        this.files = List.copyOf(files);
        this.last = read();
    }

    /** The watched files. */
    public List<Path> files() {
        return files;
    }

    /** Whether any file's content differs from the last look (a missing file counts as a state). */
    public boolean changed() {
        byte[][] now = read();
        if (Arrays.deepEquals(now, last)) {
            return false;
        }
        last = now;
        return true;
    }

    /** Takes the current content as the new reference. */
    public void reset() {
        last = read();
    }

    private byte[][] read() {
        byte[][] out = new byte[files.size()][];
        for (int i = 0; i < out.length; i++) {
            try {
                out[i] = Files.readAllBytes(files.get(i));
            } catch (IOException e) {
                out[i] = null;
            }
        }
        return out;
    }
}
