package org.relaymta.config.internal;

import java.util.List;
import java.util.Map;

/**
 * {@code docs/parameters.md}, written from the {@link Params} table: every setting by section, its
 * main.cf name and variable, default, unit and meaning. The page is checked in; a test fails when
 * it differs from what the table says (and rewrites it when asked to).
 */
public final class ParameterReference {
    private ParameterReference() {
    }

    public static String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Parameter reference\n\n");
        md.append("Every setting of the relay, generated from its parameter table (`Params` in mta-config); a test keeps\n");
        md.append("this page and the table equal. Parameters in the first column go in `postfix-main.cf` (Postfix's\n");
        md.append("names and defaults); variables go in the environment, and `NAME__FILE` reads a variable from a file.\n");
        md.append("Where both are given, the column \"wins\" says which one is used. Secrets are never shown by `mta config`.\n");
        md.append("Defaults in parentheses are derived from other settings.\n");
        for (Map.Entry<Param.Section, List<Param<?>>> e : Params.bySection().entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            md.append("\n## ").append(e.getKey().title()).append("\n\n");
            md.append("| main.cf parameter | variable | default | unit | meaning |\n");
            md.append("|---|---|---|---|---|\n");
            for (Param<?> p : e.getValue()) {
                String variable = p.variable().map(v -> "`" + v + "`"
                        + (p.inMainCf() ? (p.precedence() == Param.Precedence.VARIABLE ? " (wins)" : "") : "")).orElse("");
                md.append("| ").append(p.inMainCf() ? "`" + p.name() + "`" : "").append(" | ").append(variable).append(" | ")
                        .append(p.defaultText().isEmpty() ? "" : p.defaultIsValue() ? "`" + cell(p.defaultText()) + "`"
                                : cell(p.defaultText())).append(" | ").append(cell(p.unit())).append(" | ")
                        .append(cell(p.doc())).append(p.secret() ? " Secret." : "").append(" |\n");
            }
        }
        return md.toString();
    }

    private static String cell(String text) {
        return text.replace("|", "\\|");
    }
}
