package org.relaymta.spring;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.relaymta.core.RelayEngine;

/** What both Boot lines' health indicators report: down when the spool cannot take mail. */
record RelayHealth(boolean up, Map<String, Object> details) {

    static RelayHealth of(RelayEngine engine) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("queued", engine.queue().size());
        details.put("spool", engine.spoolDirectory().toAbsolutePath().toString());
        details.put("spoolHasRoom", engine.hasRoomForMail());
        List<String> warnings = engine.oauth2Warnings();
        if (!warnings.isEmpty()) {
            details.put("warnings", warnings);
        }
        return new RelayHealth(engine.healthy(), details);
    }
}
