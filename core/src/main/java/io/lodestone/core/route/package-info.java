/**
 * Routing shared by both engines: {@link io.lodestone.core.route.Acl conditions} over a
 * {@link io.lodestone.core.route.RequestView}, {@link io.lodestone.core.route.Rule rules} with their
 * actions, a frontend's {@link io.lodestone.core.route.Routing} and the
 * {@link io.lodestone.core.route.Router} that turns a request into a
 * {@link io.lodestone.core.route.Decision}, plus {@link io.lodestone.core.route.TestRequest} to
 * unit-test a gateway's rules without a socket.
 */
package io.lodestone.core.route;
