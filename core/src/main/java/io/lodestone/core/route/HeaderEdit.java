package io.lodestone.core.route;

import java.util.Objects;

/**
 * One header change a {@link Decision} asks the engine to make, in order, on the request sent to
 * the backend or on the response sent to the client.
 *
 * @param op what to do
 * @param name the header name, as configured
 * @param value the value for {@link Op#SET} and {@link Op#ADD}; {@code null} for {@link Op#REMOVE}
 */
public record HeaderEdit(Op op, String name, String value) {

    /** What a {@link HeaderEdit} does. */
    public enum Op {
        /** Removes every value of the header, then adds this one. */
        SET,
        /** Adds a value, keeping those already there. */
        ADD,
        /** Removes every value of the header. */
        REMOVE
    }

    /**
     * Checks the fields.
     *
     * @param op what to do
     * @param name the header name
     * @param value the value; {@code null} for {@link Op#REMOVE}
     */
    public HeaderEdit {
        Objects.requireNonNull(op, "op");
        Objects.requireNonNull(name, "name");
        if (op != Op.REMOVE) {
            Objects.requireNonNull(value, "value");
        }
    }

    @Override
    public String toString() {
        return op.name().toLowerCase() + " " + name + (value == null ? "" : ": " + value);
    }
}
