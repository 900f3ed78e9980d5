# Frozen into the unix build so that `import azure` just works.
package("azure")
