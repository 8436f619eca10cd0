package io.lodestone.core.route.internal;

import io.lodestone.core.route.Routing;

/** Builds a frontend's own routing table for the engines' frontend builders. */
public final class FrontendRouting {

    private FrontendRouting() {
    }

    /**
     * Builds {@code routing}, a refused rule or ACL named with its frontend: the table knows no
     * frontend name and starts its message with "frontend rule #i", "host h rule #i" or "acl a";
     * {@code label} ("frontend web") replaces that "frontend", or comes before the others, so a proxy
     * of several frontends says which one holds it.
     *
     * @param label "frontend " and the frontend's name
     * @param routing the frontend's rules, ACLs, virtual hosts and default backend
     * @return the built table
     * @throws IllegalArgumentException as {@link Routing.Builder#build()} does, naming the frontend
     */
    public static Routing build(String label, Routing.Builder routing) {
        try {
            return routing.build();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            String where = m.startsWith(Routing.FRONTEND_TABLE + " ") ? m.substring(Routing.FRONTEND_TABLE.length() + 1) : m;
            throw new IllegalArgumentException(label + " " + where, e);
        }
    }
}
