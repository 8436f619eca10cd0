/** A canary release: a weighted split between a stable and a canary server, changed at run time. */
package io.lodestone.examples.canary;
