package io.lodestone.tls;

import io.lodestone.tls.internal.KeyMaterial;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Trust anchors: a PEM file of CA certificates, certificates in memory, or the JDK's defaults. */
final class Trust {

    static final Trust JDK_DEFAULT = new Trust(null, null);

    private final Path file;
    private final List<X509Certificate> certificates;

    private Trust(Path file, List<X509Certificate> certificates) {
        this.file = file;
        this.certificates = certificates;
    }

    static Trust file(String field, Path file) {
        return new Trust(Objects.requireNonNull(file, field), null);
    }

    static Trust certificates(String field, List<X509Certificate> certificates) {
        List<X509Certificate> copy = new ArrayList<>(Objects.requireNonNull(certificates, field));
        if (copy.isEmpty()) {
            throw new IllegalArgumentException(field + ": [] (expected: at least one certificate)");
        }
        for (X509Certificate c : copy) {
            Objects.requireNonNull(c, field + " element");
        }
        return new Trust(null, List.copyOf(copy));
    }

    /** The anchors, or {@code null} for the JDK's default trust store. */
    X509Certificate[] load(String field) {
        if (file != null) {
            return KeyMaterial.readCertificates(field, file).toArray(new X509Certificate[0]);
        }
        return certificates == null ? null : certificates.toArray(new X509Certificate[0]);
    }

    void addFiles(List<Path> out) {
        if (file != null) {
            out.add(file);
        }
    }
}
