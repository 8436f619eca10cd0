/** A rolling update with failure detection: servers updated one at a time, the rollout stopped at the first that does not come back healthy. */
package io.lodestone.examples.rolling;
