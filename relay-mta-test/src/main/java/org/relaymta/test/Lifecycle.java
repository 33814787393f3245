package org.relaymta.test;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The test kit's extensions' life: registered on a {@code static} field, started once for the test
 * class and stopped after it; on an instance field, started and stopped around each test.
 */
abstract class Lifecycle implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private boolean perClass;

    abstract void startIt();

    abstract void stopIt();

    @Override
    public void beforeAll(ExtensionContext context) {
        perClass = true;
        startIt();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stopIt();
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        startIt();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!perClass) {
            stopIt();
        }
    }
}
