// Package scene loads the user's 3D models from glTF 2.0 files (.gltf with
// external or embedded buffers and images, and .glb) into a Model: one
// vertex and one index buffer in the model's own space, materials,
// decoded textures, and chunks that a renderer can cull and draw at a
// level of detail. It is pure Go (no GL) and treats every file as
// untrusted: sizes, indices and references are checked against the bytes
// actually present, memory stays proportional to the file's real size and
// bounded by Limits, and every problem is a clear error.
//
// What is drawn from a file:
//
//   - the default scene's node hierarchy with TRS and matrix transforms,
//     baked into model space (a mirroring transform flips the winding);
//   - triangles, triangle strips and fans, indexed or not (points and
//     lines are skipped with a note);
//   - POSITION, NORMAL (flat normals are generated when missing, as the
//     specification asks), TEXCOORD_n and COLOR_0;
//   - metallic-roughness materials: base-colour factor and texture
//     (PNG/JPEG, sampler wrap and filters), metallic and roughness
//     factors, emissive factor, alpha modes OPAQUE/MASK/BLEND, double
//     sided, KHR_materials_unlit and KHR_texture_transform.
//
// Cameras, skins, animations, morph targets, sparse accessors and the
// normal, occlusion, emissive and metallic-roughness textures are ignored
// and named in Model.Notes. A file whose extensionsRequired names another
// extension (e.g. KHR_draco_mesh_compression) is refused with an error
// naming it.
package scene
