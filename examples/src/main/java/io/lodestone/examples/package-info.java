/**
 * The runnable examples jar: {@link io.lodestone.examples.Main} dispatches to the demo, the other
 * examples and the {@code gateway} launcher.
 */
package io.lodestone.examples;
