/** A static-content gateway with a response cache in front of a deliberately slow origin, printing its hit ratio. */
package io.lodestone.examples.staticcache;
