/**
 * The {@code https} example: an HTTPS frontend with HTTP/2 and HSTS beside a plain HTTP frontend
 * that redirects to it, in front of two embedded backends.
 */
package io.lodestone.examples.https;
