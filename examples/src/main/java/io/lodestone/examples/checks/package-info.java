/** Round robin over servers with active HTTP health checks (HAProxy's {@code server web1 ... check}). */
package io.lodestone.examples.checks;
