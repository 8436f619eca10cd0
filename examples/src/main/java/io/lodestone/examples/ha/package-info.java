/** The seed's high-availability setup: least connections, a sticky cookie, health checks and a backup backend. */
package io.lodestone.examples.ha;
