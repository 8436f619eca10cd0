package io.lodestone.core.balance;

import java.util.Arrays;

/**
 * Positions around a cycle, for the walks of round robin's schedule and the hash ring past
 * unavailable candidates: each candidate's positions kept in ascending order, the jump to the next
 * one found by binary search.
 */
final class Cycles {

    private Cycles() {
    }

    /**
     * How many positions on from {@code at} the next of {@code positions[from..to)} (ascending, not
     * empty) is, around a cycle of {@code length} positions: 0 when {@code at} is one of them.
     */
    static int distance(int[] positions, int from, int to, int at, int length) {
        int k = Arrays.binarySearch(positions, from, to, at);
        if (k >= 0) {
            return 0;
        }
        k = -k - 1;
        return k < to ? positions[k] - at : positions[from] + length - at;
    }
}
