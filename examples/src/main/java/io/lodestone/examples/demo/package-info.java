/** The demo: two embedded HTTP backends behind a round-robin Lodestone gateway. */
package io.lodestone.examples.demo;
