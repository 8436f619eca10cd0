/** Helpers the examples share, such as an embedded HTTP backend. */
package io.lodestone.examples.support;
