/** The path router of the seed nginx tutorial: two services under their own prefixes, a welcome page for the rest. */
package io.lodestone.examples.nginxpaths;
