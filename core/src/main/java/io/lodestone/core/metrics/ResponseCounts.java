package io.lodestone.core.metrics;

/**
 * Responses counted since the proxy started, by status class. Statuses outside 100..599 count as
 * {@code other}; requests that got no response at all are counted as requests only.
 *
 * @param informational 1xx responses
 * @param success 2xx responses
 * @param redirection 3xx responses
 * @param clientError 4xx responses
 * @param serverError 5xx responses
 * @param other responses with a status outside 100..599
 */
public record ResponseCounts(long informational, long success, long redirection, long clientError, long serverError,
        long other) {

    /** The labels of the classes, in the order of {@link #byClass(int)}: {@code 1xx} .. {@code 5xx}, {@code other}. */
    private static final String[] LABELS = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

    /** The number of classes, six. */
    public static final int CLASSES = 6;

    /**
     * Returns the class index of a status: 0 for 1xx .. 4 for 5xx, 5 for anything else.
     *
     * @param status an HTTP status
     * @return the class index of a status: 0 for 1xx .. 4 for 5xx, 5 for anything else
     */
    public static int classOf(int status) {
        int c = status / 100 - 1;
        return status >= 100 && c < 5 ? c : 5;
    }

    /**
     * Returns the label of a class index, such as {@code "2xx"} or {@code "other"}.
     *
     * @param classIndex a class index
     * @return the label of a class index, such as {@code "2xx"} or {@code "other"}
     */
    public static String label(int classIndex) {
        return LABELS[classIndex];
    }

    /**
     * Returns the count of a class index (see {@link #classOf(int)}).
     *
     * @param classIndex a class index
     * @return the count of a class index (see {@link #classOf(int)})
     */
    public long byClass(int classIndex) {
        return switch (classIndex) {
            case 0 -> informational;
            case 1 -> success;
            case 2 -> redirection;
            case 3 -> clientError;
            case 4 -> serverError;
            case 5 -> other;
            default -> throw new IllegalArgumentException("classIndex: " + classIndex + " (expected: 0..5)");
        };
    }

    /** {@return the sum over every class} */
    public long total() {
        return informational + success + redirection + clientError + serverError + other;
    }
}
