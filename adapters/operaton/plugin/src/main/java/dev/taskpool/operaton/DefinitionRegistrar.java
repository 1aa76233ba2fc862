package dev.taskpool.operaton;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.operaton.bpm.engine.impl.persistence.deploy.Deployer;
import org.operaton.bpm.engine.impl.persistence.entity.DeploymentEntity;
import org.operaton.bpm.engine.impl.persistence.entity.ProcessDefinitionEntity;
import org.operaton.bpm.engine.impl.persistence.entity.ResourceEntity;

/**
 * Registers each newly deployed process definition with the pool, in the deployment's
 * transaction: its BPMN XML (the window draws it) and the deployment's forms (Camunda
 * Forms JSON, `.form` resources, keyed by their `id`, which user tasks name in their
 * form key or form reference).
 */
class DefinitionRegistrar implements Deployer {

  private final Collector collector;

  DefinitionRegistrar(Collector collector) {
    this.collector = collector;
  }

  @Override
  public void deploy(DeploymentEntity deployment) {
    if (!deployment.isNew() || !collector.wants(TaskpoolPlugin.EventKind.DEFINITIONS)) {
      return;
    }
    Map<String, ResourceEntity> resources = deployment.getResources();
    ObjectNode forms = Json.MAPPER.createObjectNode();
    if (resources != null) {
      for (ResourceEntity r : resources.values()) {
        if (r.getName().endsWith(".form")) {
          try {
            JsonNode form = Json.MAPPER.readTree(r.getBytes());
            if (form.hasNonNull("id")) {
              forms.set(form.get("id").asText(), form);
            }
          } catch (java.io.IOException e) {
            throw new IllegalArgumentException("the form " + r.getName() + " is not JSON", e);
          }
        }
      }
    }
    for (ProcessDefinitionEntity d : deployment.getDeployedArtifacts(ProcessDefinitionEntity.class)) {
      ObjectNode definition = Json.MAPPER.createObjectNode();
      definition.put("id", d.getId());
      definition.put("key", d.getKey());
      definition.put("version", d.getVersion());
      definition.put("applicationName", collector.application);
      definition.put("name", d.getName() != null ? d.getName() : d.getKey());
      if (d.getDescription() != null) {
        definition.put("description", d.getDescription());
      }
      if (d.getHasStartFormKey() && d.getStartFormDefinition() != null
          && d.getStartFormDefinition().getFormKey() != null) {
        definition.put("startFormKey", d.getStartFormDefinition().getFormKey().getExpressionText());
      }
      definition.put("startableFromTasklist", d.isStartableInTasklist());
      d.getCandidateStarterUserIdExpressions()
          .forEach(x -> definition.withArray("candidateStarterUsers").add(x.getExpressionText()));
      d.getCandidateStarterGroupIdExpressions()
          .forEach(x -> definition.withArray("candidateStarterGroups").add(x.getExpressionText()));
      if (!forms.isEmpty()) {
        definition.set("forms", forms);
      }
      ResourceEntity xml = resources == null ? null : resources.get(d.getResourceName());
      if (xml != null) {
        definition.put("diagram", new String(xml.getBytes(), StandardCharsets.UTF_8));
      }
      ObjectNode e = Json.event("processDefinitionDeployed");
      e.set("definition", definition);
      collector.add(e);
    }
  }
}
