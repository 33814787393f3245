package org.relaymta.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** RFC 8460's aggregate report as a JSON Schema (draft 2020-12), checked by networknt's validator. */
public final class TlsReportSchema {
    private static final Schema SCHEMA = load();

    private TlsReportSchema() {
    }

    private static Schema load() {
        try (InputStream in = TlsReportSchema.class.getResourceAsStream("tlsrpt-schema.json")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What in {@code json} does not match the schema; empty when it matches. */
    public static List<String> problems(String json) {
        try {
            List<Error> errors = SCHEMA.validate(new ObjectMapper().readTree(json));
            return errors.stream().map(e -> e.getInstanceLocation() + ": " + e.getMessage()).toList();
        } catch (IOException e) {
            return List.of("not JSON: " + e.getMessage());
        }
    }
}
