package io.lodestone.core.route.internal;

import io.lodestone.core.route.Acl;
import io.lodestone.core.route.BackendStates;
import io.lodestone.core.route.RequestView;

/**
 * The base of the built-in ACLs: each can describe itself, say whether it reads the HTTP request,
 * and be bound, which resolves named references (when a routing is built) and gives state ACLs the
 * live {@link BackendStates} (when a router is made).
 */
public abstract class AclNode implements Acl {

    /** Declared here as well, so that routers call it through the class, not the interface. */
    @Override
    public abstract boolean matches(RequestView request);

    /** Returns the ACL as a node: built-ins as they are, lambdas wrapped. */
    public static AclNode node(Acl acl) {
        return acl instanceof AclNode n ? n : new AclNodes.Described("custom", acl);
    }

    /** What binding needs: the named ACLs, and the backend states (null while only resolving names). */
    public interface Binder {
        /**
         * Returns the bound ACL of that name.
         *
         * @throws IllegalArgumentException when there is no such named ACL
         */
        Acl named(String name);

        /** The live backend states, or {@code null} when only names are being resolved. */
        BackendStates states();

        /** Told of every backend a state ACL reads, so that the proxy can check it exists. */
        default void readsBackend(String backend) {
        }
    }

    /** Returns this ACL bound by {@code binder}; leaves return themselves. */
    public Acl bind(Binder binder) {
        return this;
    }

    /** Whether this ACL reads the HTTP request, so cannot be used on a connection-only frontend. */
    public boolean readsHttp() {
        return false;
    }

    /** Binds any ACL: built-ins through {@link #bind}, user lambdas as they are. */
    public static Acl bind(Acl acl, Binder binder) {
        return acl instanceof AclNode n ? n.bind(binder) : acl;
    }

    /** Whether any ACL reads HTTP; user lambdas are assumed not to. */
    public static boolean readsHttp(Acl acl) {
        return acl instanceof AclNode n && n.readsHttp();
    }

    /** Describes any ACL: built-ins by their HAProxy-like text, lambdas as {@code custom}. */
    public static String describe(Acl acl) {
        return acl instanceof AclNode ? acl.toString() : "custom";
    }
}
