/** Host-based virtual hosting and the backup backend that takes over when the primary pool is empty. */
package io.lodestone.examples.vhosts;
